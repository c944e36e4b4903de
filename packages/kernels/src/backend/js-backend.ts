import type { F32Kernels } from "./f32-kernels";
import { kronMergeJs, lowRankHadamardJs } from "./js-kernels";

/**
 * Float32 matmul in plain JS, register-blocked: op(b) is packed into panels of 4 columns ([panel][p][4],
 * zero-padded), and each 4×4 block of C accumulates in 16 locals over the whole k loop, so every load
 * feeds 2–4 multiply-adds and B streams sequentially. Float32-only (V8 specialises element access per
 * function, so it is kept apart from the generic float64 reference loops).
 */
function matmulF32(
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  out: Float32Array,
): void {
  const panels = Math.ceil(n / 4);
  const bp = new Float32Array(panels * k * 4);
  for (let jp = 0; jp < panels; jp++) {
    const base = jp * k * 4;
    for (let j = 0; j < 4; j++) {
      const col = jp * 4 + j;
      if (col >= n) continue;
      for (let p = 0; p < k; p++) bp[base + p * 4 + j] = transB ? b[col * k + p]! : b[p * n + col]!;
    }
  }
  // Element (i, p) of op(a) is a[i·ars + p·acs].
  const ars = transA ? 1 : k;
  const acs = transA ? m : 1;
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    for (let jp = 0; jp < panels; jp++) {
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0,
        c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0,
        c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      let q = jp * k * 4;
      let a0 = i * ars;
      for (let p = 0; p < k; p++) {
        const b0 = bp[q]!,
          b1 = bp[q + 1]!,
          b2 = bp[q + 2]!,
          b3 = bp[q + 3]!;
        q += 4;
        const x0 = a[a0]!,
          x1 = a[a0 + ars]!,
          x2 = a[a0 + 2 * ars]!,
          x3 = a[a0 + 3 * ars]!;
        a0 += acs;
        c00 += x0 * b0;
        c01 += x0 * b1;
        c02 += x0 * b2;
        c03 += x0 * b3;
        c10 += x1 * b0;
        c11 += x1 * b1;
        c12 += x1 * b2;
        c13 += x1 * b3;
        c20 += x2 * b0;
        c21 += x2 * b1;
        c22 += x2 * b2;
        c23 += x2 * b3;
        c30 += x3 * b0;
        c31 += x3 * b1;
        c32 += x3 * b2;
        c33 += x3 * b3;
      }
      const j = jp * 4;
      const rows = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
      for (let r = 0; r < 4; r++) {
        for (let cc = 0; cc < 4 && j + cc < n; cc++) out[(i + r) * n + j + cc] = rows[r * 4 + cc]!;
      }
    }
  }
  for (; i < m; i++) {
    for (let jp = 0; jp < panels; jp++) {
      let c0 = 0,
        c1 = 0,
        c2 = 0,
        c3 = 0;
      let q = jp * k * 4;
      let a0 = i * ars;
      for (let p = 0; p < k; p++) {
        const x = a[a0]!;
        a0 += acs;
        c0 += x * bp[q]!;
        c1 += x * bp[q + 1]!;
        c2 += x * bp[q + 2]!;
        c3 += x * bp[q + 3]!;
        q += 4;
      }
      const j = jp * 4;
      const row = [c0, c1, c2, c3];
      for (let cc = 0; cc < 4 && j + cc < n; cc++) out[i * n + j + cc] = row[cc]!;
    }
  }
}

/** The plain typed-array backend (float32 instance of the reference loops, blocked f32 matmul). */
export function createJsBackend(): F32Kernels {
  return {
    name: "js",
    matmul: matmulF32,
    kronMerge: kronMergeJs,
    lowRankHadamard: lowRankHadamardJs,
  };
}
