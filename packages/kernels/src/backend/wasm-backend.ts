import type { F32Kernels } from "./f32-kernels";
import type { WasmModule } from "./wasm-api";
import { WasmArena } from "./wasm-arena";
import { gemmInArena, KC, MC, MR, NR, packBOffset, packScratch, roundUp } from "./wasm-gemm";
import { kernelsModule } from "./wasm-module";
import { residentKernels } from "./wasm-resident";
import { threadedMatmul } from "./wasm-threads";

const state: { backend: F32Kernels | null | undefined } = { backend: undefined };

/** Whether this runtime can run the WebAssembly SIMD kernels (compiles the 2 KB module once). */
export function wasmSimdSupported(): boolean {
  return kernelsModule() !== null;
}

const LOHA_BLOCK = 256;

/**
 * Up to this many rows, `x·Wᵀ` (a linear layer's forward) runs as row dot products over W streamed in
 * L2-sized bands (W read once, no packing) instead of the packed GEMM, which copies and packs all of W
 * for a few rows. Measured on this 2-core Xeon, W 4096², single thread (dot rows vs packed GEMM, ms):
 * m=1 7.1 vs 36, m=8 20 vs 42, m=16 34 vs 50, m=24 49 vs ~55 (crossover), m=64 — vs 116.
 */
export const DOT_ROWS_MAX_M = 16;

/** Floats of W per band of the dot-rows path (1 MB: stays in L2 next to x). */
const DOT_ROWS_BAND_FLOATS = 1 << 18;

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function createWasmBackend(module: WasmModule): F32Kernels {
  const arena = new WasmArena(module);

  function copyOut(src: number, ld: number, rows: number, cols: number, out: Float32Array): void {
    const f = arena.f32;
    if (ld === cols) {
      out.set(f.subarray(src, src + rows * cols));
      return;
    }
    for (let i = 0; i < rows; i++) out.set(f.subarray(src + i * ld, src + i * ld + cols), i * cols);
  }

  /** out [m, n] = a [m, k] · bᵀ with b [n, k] row-major (see {@link DOT_ROWS_MAX_M}). */
  function dotRows(
    a: Float32Array,
    b: Float32Array,
    m: number,
    n: number,
    k: number,
    out: Float32Array,
  ): void {
    const k16 = roundUp(k, 16);
    const band = Math.max(1, Math.min(n, Math.floor(DOT_ROWS_BAND_FLOATS / k16)));
    arena.begin(m * k16 + band * k16 + pad4(m * n) + 16);
    const xo = arena.alloc(m * k16);
    const wo = arena.alloc(band * k16);
    const oo = arena.alloc(m * n);
    const f = arena.f32;
    // zero the padding once: later copies only write the first k floats of each row
    f.fill(0, xo, xo + m * k16);
    f.fill(0, wo, wo + band * k16);
    for (let r = 0; r < m; r++) f.set(a.subarray(r * k, (r + 1) * k), xo + r * k16);
    const kern = arena.kernels;
    for (let j0 = 0; j0 < n; j0 += band) {
      const nb = Math.min(band, n - j0);
      if (k === k16) f.set(b.subarray(j0 * k, (j0 + nb) * k), wo);
      else for (let j = 0; j < nb; j++) f.set(b.subarray((j0 + j) * k, (j0 + j + 1) * k), wo + j * k16);
      kern.dot_rows(4 * xo, m, 4 * wo, nb, k16, 4 * (oo + j0), n);
    }
    out.set(f.subarray(oo, oo + m * n));
  }

  return {
    name: "wasm",

    matmul(a, b, m, n, k, transA, transB, out) {
      if (transB && !transA && m <= DOT_ROWS_MAX_M && k >= 16) {
        // A WASM-resident W (residentZeros / toResident) is read in place: no copy at all.
        if (!residentKernels(b)?.dotRowsT(a, m, n, k, out)) dotRows(a, b, m, n, k, out);
        return;
      }
      if (threadedMatmul(a, b, m, n, k, transA, transB, out)) return;
      const ldc = roundUp(n, NR);
      arena.begin(pad4(m * k) + pad4(k * n) + roundUp(m, MR) * ldc + packScratch(m, n, k) + 16);
      const ao = arena.alloc(m * k);
      const bo = arena.alloc(k * n);
      const co = arena.alloc(roundUp(m, MR) * ldc);
      const pa = arena.alloc(packScratch(m, n, k));
      const f = arena.f32;
      f.set(a.subarray(0, m * k), ao);
      f.set(b.subarray(0, k * n), bo);
      gemmInArena(
        arena,
        transA ? { off: ao, rs: 1, cs: m } : { off: ao, rs: k, cs: 1 },
        transB ? { off: bo, rs: 1, cs: k } : { off: bo, rs: n, cs: 1 },
        m,
        n,
        k,
        co,
        ldc,
        pa,
        packBOffset(pa, m, k),
      );
      copyOut(co, ldc, m, n, out);
    },

    kronApply(x, rows, a, p, q, b, r, s, scale, out) {
      // Stage 1, one GEMM over all rows: T[(n,k), j] = Σ_l X[n,k,l]·b[j,l] (x used in place as [N·q, s]).
      // Stage 2, per row n: Y[n] = (scale·a)·T[n] ([p,q]·[q,r]) written straight into Y's slot; the
      // padded rows of one slot are overwritten by the next, the last one spills into slack space.
      const qn = q * rows;
      const ld = roundUp(r, NR);
      const slot = p * ld;
      const scratch = Math.max(packScratch(qn, r, s), packScratch(p, r, q));
      arena.begin(
        pad4(qn * s) +
          pad4(s * r) +
          roundUp(qn, MR) * ld +
          pad4(p * q) +
          rows * slot +
          MR * ld +
          scratch +
          16,
      );
      const xo = arena.alloc(qn * s);
      const bo = arena.alloc(r * s);
      const to = arena.alloc(roundUp(qn, MR) * ld);
      const ao = arena.alloc(p * q);
      const yo = arena.alloc(rows * slot + MR * ld);
      const pa = arena.alloc(scratch);
      const f = arena.f32;
      f.set(x.subarray(0, qn * s), xo);
      f.set(b.subarray(0, r * s), bo);
      for (let i = 0; i < p * q; i++) f[ao + i] = scale * a[i]!;
      gemmInArena(
        arena,
        { off: xo, rs: s, cs: 1 },
        { off: bo, rs: 1, cs: s },
        qn,
        r,
        s,
        to,
        ld,
        pa,
        packBOffset(pa, qn, s),
      );
      const k = arena.kernels;
      const pb = packBOffset(pa, p, q);
      if (p <= MC && q <= KC) {
        // The A operand (scale·a) fits one block: pack it once, then one pack_b + GEBP per row.
        k.pack_a(4 * ao, q, 1, p, q, 4 * pa);
        for (let n = 0; n < rows; n++) {
          k.pack_b(4 * (to + n * q * ld), ld, 1, q, r, 4 * pb);
          k.gebp(4 * pa, 4 * pb, 4 * (yo + n * slot), roundUp(p, MR), ld, q, 4 * ld, 0);
        }
      } else {
        for (let n = 0; n < rows; n++) {
          gemmInArena(
            arena,
            { off: ao, rs: q, cs: 1 },
            { off: to + n * q * ld, rs: ld, cs: 1 },
            p,
            r,
            q,
            yo + n * slot,
            ld,
            pa,
            pb,
          );
        }
      }
      copyOut(yo, ld, rows * p, r, out);
    },

    kronMerge(w, a, p, q, b, r, sk, scale) {
      const resident = residentKernels(w);
      if (resident?.kronMerge(w, a, p, q, b, r, sk, scale)) return;
      // W in JS memory: stream it through a small WASM window, r rows (one row i of a) at a time,
      // so the extra copies stay in L2 and DRAM sees one read and one write of W, as in place.
      const band = r * q * sk;
      arena.begin(pad4(band) + pad4(p * q) + pad4(r * sk) + 16);
      const wo = arena.alloc(band);
      const ao = arena.alloc(p * q);
      const bo = arena.alloc(r * sk);
      const f = arena.f32;
      f.set(a.subarray(0, p * q), ao);
      f.set(b.subarray(0, r * sk), bo);
      const win = f.subarray(wo, wo + band);
      for (let i = 0; i < p; i++) {
        const rowsOfI = w.subarray(i * band, (i + 1) * band);
        win.set(rowsOfI);
        arena.kernels.kron_merge(4 * wo, 4 * (ao + i * q), 1, q, 4 * bo, r, sk, scale);
        rowsOfI.set(win);
      }
    },

    lowRankHadamard(a1, b1, a2, b2, rows, cols, r1, r2, scale, out) {
      // Row stride of b1, b2 and the output band, padded by 16 floats so rows of a power-of-two width
      // do not all land in the same L1 sets (16 b rows at a 16 KB stride would thrash a 12-way L1).
      const cols4 = pad4(cols);
      const cp = cols4 + 16;
      // Output rows are produced in bands of about 256 KB (L2-resident) and copied out band by band.
      const bandRows = Math.max(1, Math.min(rows, Math.floor(65536 / cp)));
      arena.begin(pad4(rows * r1) + pad4(rows * r2) + cp * (r1 + r2) + bandRows * cp + 16);
      const a1o = arena.alloc(rows * r1);
      const a2o = arena.alloc(rows * r2);
      const b1o = arena.alloc(r1 * cp);
      const b2o = arena.alloc(r2 * cp);
      const oo = arena.alloc(bandRows * cp);
      const f = arena.f32;
      f.set(a1.subarray(0, rows * r1), a1o);
      f.set(a2.subarray(0, rows * r2), a2o);
      const putB = (src: Float32Array, rank: number, at: number) => {
        for (let k = 0; k < rank; k++) f.set(src.subarray(k * cols, (k + 1) * cols), at + k * cp);
      };
      putB(b1, r1, b1o);
      putB(b2, r2, b2o);
      const k = arena.kernels;
      for (let i0 = 0; i0 < rows; i0 += bandRows) {
        const n = Math.min(bandRows, rows - i0);
        const pa1 = 4 * (a1o + i0 * r1);
        const pa2 = 4 * (a2o + i0 * r2);
        // Column blocks of LOHA_BLOCK floats keep the b1/b2 block (r·LOHA_BLOCK·4 bytes each) in L1;
        // the 16-wide kernel takes the bulk, the 4-wide one the remainder.
        for (let j0 = 0; j0 < cols4; j0 += LOHA_BLOCK) {
          const width = Math.min(LOHA_BLOCK, cols4 - j0);
          const w16 = width & ~15;
          const o = 4 * j0;
          if (w16 > 0)
            k.loha_rows16(pa1, 4 * b1o + o, pa2, 4 * b2o + o, n, cp, w16, r1, r2, scale, 4 * oo + o);
          if (width > w16) {
            const o2 = o + 4 * w16;
            k.loha_rows(pa1, 4 * b1o + o2, pa2, 4 * b2o + o2, n, cp, width - w16, r1, r2, scale, 4 * oo + o2);
          }
        }
        copyOut(oo, cp, n, cols, out.subarray(i0 * cols, (i0 + n) * cols));
      }
    },
  };
}

/** The WebAssembly SIMD backend (created on first call), or undefined without WASM SIMD. */
export function getWasmBackend(): F32Kernels | undefined {
  if (state.backend === undefined) {
    const module = kernelsModule();
    state.backend = module ? createWasmBackend(module) : null;
  }
  return state.backend ?? undefined;
}
