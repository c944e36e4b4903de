import type { F32Kernels } from "./f32-kernels";
import { kronMergeJs, lowRankHadamardJs, matmulJs } from "./js-kernels";

/**
 * Float32-only copy of the common `matmulJs` case (no transposes). V8 specialises element access per
 * function, so a body that only ever sees Float32Array runs several times faster than the shared
 * generic one that also serves the float64 reference.
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
  if (transA || transB) {
    matmulJs(a, b, m, n, k, transA, transB, out);
    return;
  }
  out.fill(0, 0, m * n);
  for (let i = 0; i < m; i++) {
    const oRow = i * n;
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p]!;
      const bRow = p * n;
      for (let j = 0; j < n; j++) out[oRow + j] = out[oRow + j]! + av * b[bRow + j]!;
    }
  }
}

/** The plain typed-array backend (float32 instance of the reference loops). */
export function createJsBackend(): F32Kernels {
  return {
    name: "js",
    matmul: matmulF32,
    kronMerge: kronMergeJs,
    lowRankHadamard: lowRankHadamardJs,
  };
}
