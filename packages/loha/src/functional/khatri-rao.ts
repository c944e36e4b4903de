import { type FloatArray, type Tensor, tensor } from "@lycoris-ts/kernels";

/** A new zeroed typed array of the same element type as `like`. */
export function allocLike<A extends FloatArray>(like: A, length: number): A {
  return (like instanceof Float64Array ? new Float64Array(length) : new Float32Array(length)) as A;
}

/**
 * Row-wise Khatri–Rao ("face-splitting") product of the left factors:
 * `out[o, i·r2 + j] = a1[o, i] · a2[o, j]`, shape `[out, r1·r2]`.
 */
export function khatriRaoRows<A extends FloatArray>(a1: Tensor<A>, a2: Tensor<A>): Tensor<A> {
  const out = a1.shape[0] ?? 0;
  const r1 = a1.shape[1] ?? 0;
  const r2 = a2.shape[1] ?? 0;
  const d = allocLike(a1.data, out * r1 * r2);
  const x = a1.data;
  const y = a2.data;
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < r1; i++) {
      const c = x[o * r1 + i] ?? 0;
      const base = (o * r1 + i) * r2;
      for (let j = 0; j < r2; j++) d[base + j] = c * (y[o * r2 + j] ?? 0);
    }
  }
  return tensor(d, [out, r1 * r2]);
}

/**
 * Column-wise Khatri–Rao product of the right factors:
 * `out[i·r2 + j, k] = b1[i, k] · b2[j, k]`, shape `[r1·r2, in]`.
 */
export function khatriRaoCols<A extends FloatArray>(b1: Tensor<A>, b2: Tensor<A>): Tensor<A> {
  const r1 = b1.shape[0] ?? 0;
  const r2 = b2.shape[0] ?? 0;
  const n = b1.shape[1] ?? 0;
  const d = allocLike(b1.data, r1 * r2 * n);
  const x = b1.data;
  const y = b2.data;
  for (let i = 0; i < r1; i++) {
    for (let j = 0; j < r2; j++) {
      const base = (i * r2 + j) * n;
      for (let k = 0; k < n; k++) d[base + k] = (x[i * n + k] ?? 0) * (y[j * n + k] ?? 0);
    }
  }
  return tensor(d, [r1 * r2, n]);
}
