import { Matrix } from "ml-matrix";
import type { F32Kernels } from "./f32-kernels";

function toMatrix(data: Float32Array | Float64Array, rows: number, cols: number): Matrix {
  return Matrix.from1DArray(rows, cols, data);
}

function copyOut(c: Matrix, m: number, n: number, out: Float32Array | Float64Array): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) out[i * n + j] = c.get(i, j);
  }
}

/**
 * `ml-matrix` backend: matmul through `Matrix.mmul` (float64 internally), every other op through the
 * composites in `ops/`. It is the fallback the design names and the home of later decompositions.
 */
export function createMlMatrixBackend(): F32Kernels {
  return {
    name: "ml-matrix",
    matmul(a, b, m, n, k, transA, transB, out) {
      let am = toMatrix(a, transA ? k : m, transA ? m : k);
      let bm = toMatrix(b, transB ? n : k, transB ? k : n);
      if (transA) am = am.transpose();
      if (transB) bm = bm.transpose();
      copyOut(am.mmul(bm), m, n, out);
    },
  };
}

/** float64 matmul through ml-matrix (`a` [m,k] · `b` [k,n]); an independent reference for tests. */
export function matmulMlMatrix64(
  a: Float64Array,
  b: Float64Array,
  m: number,
  n: number,
  k: number,
): Float64Array {
  const out = new Float64Array(m * n);
  copyOut(toMatrix(a, m, k).mmul(toMatrix(b, k, n)), m, n, out);
  return out;
}
