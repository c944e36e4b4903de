import { lowRankHadamardJs } from "../backend/js-kernels";
import { backendFor } from "../backend/resolve-backend";
import { KernelsError } from "../errors";
import { allocLike, type FloatArray, outputLike, type Tensor } from "../tensor";
import { allF32, expectRank } from "./check";
import { gemm } from "./gemm";

interface HadaDims {
  rows: number;
  cols: number;
  r1: number;
  r2: number;
}

function hadaDims(
  op: string,
  a1: Tensor<FloatArray>,
  b1: Tensor<FloatArray>,
  a2: Tensor<FloatArray>,
  b2: Tensor<FloatArray>,
): HadaDims {
  const [rows, r1] = expectRank(op, "a1", a1, 2) as [number, number];
  const [r1b, cols] = expectRank(op, "b1", b1, 2) as [number, number];
  const [rows2, r2] = expectRank(op, "a2", a2, 2) as [number, number];
  const [r2b, cols2] = expectRank(op, "b2", b2, 2) as [number, number];
  if (r1 !== r1b || r2 !== r2b || rows !== rows2 || cols !== cols2) {
    throw new KernelsError(
      op,
      `need a1 [out,r1], b1 [r1,in], a2 [out,r2], b2 [r2,in]; got [${a1.shape}], [${b1.shape}], [${a2.shape}], [${b2.shape}]`,
    );
  }
  return { rows, cols, r1, r2 };
}

/**
 * LoHa delta `s · (a1·b1) ⊙ (a2·b2)` with a* [out,r] and b* [r,in], computed row by row so the two full
 * products are never alive. With `out` (see `outputLike`), ΔW is written there instead of a fresh array.
 */
export function lowRankHadamard<A extends FloatArray>(
  a1: Tensor<A>,
  b1: Tensor<A>,
  a2: Tensor<A>,
  b2: Tensor<A>,
  s = 1,
  out?: A,
): Tensor<A> {
  const { rows, cols, r1, r2 } = hadaDims("lowRankHadamard", a1, b1, a2, b2);
  const data = outputLike("lowRankHadamard", a1.data, rows * cols, out);
  if (allF32(a1.data, b1.data, a2.data, b2.data)) {
    const be = backendFor("lowRankHadamard", rows * cols * (r1 + r2));
    if (be.lowRankHadamard) {
      be.lowRankHadamard(
        a1.data as Float32Array,
        b1.data as Float32Array,
        a2.data as Float32Array,
        b2.data as Float32Array,
        rows,
        cols,
        r1,
        r2,
        s,
        data as Float32Array,
      );
      return { data, shape: [rows, cols] };
    }
  }
  lowRankHadamardJs(a1.data, b1.data, a2.data, b2.data, rows, cols, r1, r2, s, data);
  return { data, shape: [rows, cols] };
}

/** Gradients of {@link lowRankHadamard}. */
export interface LowRankHadamardGrads<A extends FloatArray> {
  readonly da1: Tensor<A>;
  readonly db1: Tensor<A>;
  readonly da2: Tensor<A>;
  readonly db2: Tensor<A>;
}

/**
 * Gradients of `Δ = s·(a1·b1)⊙(a2·b2)` given `dDelta`. Like PEFT's `HadaWeight`, it recomputes each
 * product when needed and keeps one [out,in] buffer: `G = s·dΔ⊙(a2·b2)` gives `da1 = G·b1ᵀ`,
 * `db1 = a1ᵀ·G`; then the buffer is reused for `s·dΔ⊙(a1·b1)`.
 */
export function lowRankHadamardBackward<A extends FloatArray>(
  a1: Tensor<A>,
  b1: Tensor<A>,
  a2: Tensor<A>,
  b2: Tensor<A>,
  dDelta: Tensor<A>,
  s = 1,
): LowRankHadamardGrads<A> {
  const { rows, cols, r1, r2 } = hadaDims("lowRankHadamardBackward", a1, b1, a2, b2);
  if (dDelta.data.length !== rows * cols) {
    throw new KernelsError(
      "lowRankHadamardBackward",
      `dDelta must be [${rows}, ${cols}], got [${dDelta.shape}]`,
    );
  }
  const like = a1.data;
  const g = allocLike(like, rows * cols);
  const dd = dDelta.data;
  // Pass 1: G = s·dΔ ⊙ (a2·b2).
  gemm(a2.data, b2.data, rows, cols, r2, false, false, g);
  for (let i = 0; i < g.length; i++) g[i] = s * dd[i]! * g[i]!;
  const da1 = allocLike(like, rows * r1);
  const db1 = allocLike(like, r1 * cols);
  gemm(g, b1.data, rows, r1, cols, false, true, da1);
  gemm(a1.data, g, r1, cols, rows, true, false, db1);
  // Pass 2: reuse the buffer for G = s·dΔ ⊙ (a1·b1).
  gemm(a1.data, b1.data, rows, cols, r1, false, false, g);
  for (let i = 0; i < g.length; i++) g[i] = s * dd[i]! * g[i]!;
  const da2 = allocLike(like, rows * r2);
  const db2 = allocLike(like, r2 * cols);
  gemm(g, b2.data, rows, r2, cols, false, true, da2);
  gemm(a2.data, g, r2, cols, rows, true, false, db2);
  return {
    da1: { data: da1, shape: [rows, r1] },
    db1: { data: db1, shape: [r1, cols] },
    da2: { data: da2, shape: [rows, r2] },
    db2: { data: db2, shape: [r2, cols] },
  };
}

/**
 * `y = x·Δᵀ` for the LoHa delta without building Δ, through the rank-(r1·r2) Khatri–Rao form:
 * `Δ = s·A12·B12` with `A12[o,(k,l)] = a1[o,k]·a2[o,l]` and `B12[(k,l),i] = b1[k,i]·b2[l,i]`, so
 * `y = s·(x·B12ᵀ)·A12ᵀ`. x is [..., in], y is [..., out]. Cheaper than materialising when
 * `N·r1·r2 < out·in` roughly.
 */
export function lowRankHadamardApply<A extends FloatArray>(
  x: Tensor<A>,
  a1: Tensor<A>,
  b1: Tensor<A>,
  a2: Tensor<A>,
  b2: Tensor<A>,
  s = 1,
): Tensor<A> {
  const { rows, cols, r1, r2 } = hadaDims("lowRankHadamardApply", a1, b1, a2, b2);
  if (x.shape.length < 1 || x.shape[x.shape.length - 1] !== cols) {
    throw new KernelsError("lowRankHadamardApply", `x must end in ${cols} features, got [${x.shape}]`);
  }
  const lead = x.shape.slice(0, -1);
  const n = lead.reduce((acc, d) => acc * d, 1);
  const rr = r1 * r2;
  const like = x.data;
  const b12 = allocLike(like, rr * cols);
  for (let k = 0; k < r1; k++) {
    for (let l = 0; l < r2; l++) {
      const o = (k * r2 + l) * cols;
      for (let i = 0; i < cols; i++) b12[o + i] = b1.data[k * cols + i]! * b2.data[l * cols + i]!;
    }
  }
  const a12 = allocLike(like, rows * rr);
  for (let o = 0; o < rows; o++) {
    for (let k = 0; k < r1; k++) {
      const c = s * a1.data[o * r1 + k]!;
      for (let l = 0; l < r2; l++) a12[o * rr + k * r2 + l] = c * a2.data[o * r2 + l]!;
    }
  }
  const z = allocLike(like, n * rr);
  gemm(x.data, b12, n, rr, cols, false, true, z);
  const y = allocLike(like, n * rows);
  gemm(z, a12, n, rows, rr, false, true, y);
  return { data: y, shape: [...lead, rows] };
}
