import { matmulJs } from "../backend/js-kernels";
import { backendFor } from "../backend/resolve-backend";
import type { FloatArray } from "../tensor";
import { allF32 } from "./check";

/**
 * Internal dense GEMM dispatch: `out[m,n] = op(a)·op(b)`. Float32 operands go to the backend chosen for
 * this size; anything else runs the float64-capable JS loops.
 */
export function gemm(
  a: FloatArray,
  b: FloatArray,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  out: FloatArray,
): void {
  if (m === 0 || n === 0) return;
  if (k === 0) {
    out.fill(0, 0, m * n);
    return;
  }
  if (allF32(a, b, out)) {
    backendFor("matmul", m * n * k).matmul(
      a as Float32Array,
      b as Float32Array,
      m,
      n,
      k,
      transA,
      transB,
      out as Float32Array,
    );
    return;
  }
  matmulJs(a, b, m, n, k, transA, transB, out);
}
