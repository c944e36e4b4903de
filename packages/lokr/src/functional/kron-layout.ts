import { type FloatArray, permute, reshape, type Tensor } from "@lycoris-ts/kernels";
import type { ResolvedStructure } from "./factors";

/** Internal: a zero-filled array of the same element type as `like`. */
export function allocLike<A extends FloatArray>(like: A, length: number): A {
  return (like instanceof Float64Array ? new Float64Array(length) : new Float32Array(length)) as A;
}

/**
 * Internal: PEFT's Conv1d full-`lokr_w2` layout. PEFT computes `torch.kron(w1, w2)` with a 2-D `w1 [l, m]` and a
 * 3-D `w2 [k, n, K]`; torch treats `w1` as `[1, l, m]`, giving `R [k, l·n, m·K]` with
 * `R[q, p·n+j, i·K+t] = w1[p,i]·w2[q,j,t]`, which is then reshaped (row-major) to the base weight shape
 * `[l·k, m·n, K]`. Viewing `R` as `[k, l, n, m, K]`, the true Kronecker tensor is its `[1, 0, 3, 2, 4]`
 * permutation, and the permutation is its own inverse.
 */
export function swapConv1dLayout<A extends FloatArray>(
  t: Tensor<A>,
  s: ResolvedStructure,
  from: "peft" | "true",
): Tensor<A> {
  const [l, k] = s.outFactors;
  const [m, n] = s.inFactors;
  const kk = s.kernelNumel;
  const view = from === "peft" ? [k, l, n, m, kk] : [l, k, m, n, kk];
  return reshape(permute(reshape(t, view), [1, 0, 3, 2, 4]), [l * k, m * n, kk]);
}

/**
 * Internal: gradients of `ΔW = scale · kron(w1, w2)` (true layout) w.r.t. `w1 [l, m]` and `w2 [k, n, ...kernel]`,
 * given `dDelta` shaped like ΔW.
 */
export function kronFactorGradsDense<A extends FloatArray>(
  dDelta: Tensor<A>,
  w1: Tensor<A>,
  w2: Tensor<A>,
  scale: number,
  s: ResolvedStructure,
): { dw1: Tensor<A>; dw2: Tensor<A> } {
  const [l, k] = s.outFactors;
  const [m, n] = s.inFactors;
  const J = n * s.kernelNumel;
  const D = dDelta.data;
  const a = w1.data;
  const b = w2.data;
  const dw1 = allocLike(D, l * m);
  const dw2 = allocLike(D, k * J);
  const inTotal = m * J;
  for (let p = 0; p < l; p++) {
    for (let q = 0; q < k; q++) {
      const rowBase = (p * k + q) * inTotal;
      for (let i = 0; i < m; i++) {
        const base = rowBase + i * J;
        const aPi = a[p * m + i]! * scale;
        let acc = 0;
        const bBase = q * J;
        for (let c = 0; c < J; c++) {
          const d = D[base + c]!;
          acc += d * b[bBase + c]!;
          dw2[bBase + c] = dw2[bBase + c]! + d * aPi;
        }
        dw1[p * m + i] = dw1[p * m + i]! + acc * scale;
      }
    }
  }
  return { dw1: { data: dw1, shape: [l, m] }, dw2: { data: dw2, shape: w2.shape } };
}
