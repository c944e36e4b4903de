// Test-only float64 references written from the definitions, loop by loop (no kernels).
import type { Tensor } from "@lycoris-ts/kernels";

/** Row-major strides of a shape. */
function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/**
 * torch's conv1d/conv2d with zero padding: x `[N, C, ...L]`, w `[O, C/groups, ...k]`. `padding` is explicit
 * per axis or "same" (stride 1; total dilation·(k−1), the smaller half before).
 */
export function naiveConv(
  x: Tensor<Float64Array>,
  w: Tensor<Float64Array>,
  o: {
    stride: readonly number[];
    padding: readonly number[] | "same";
    dilation: readonly number[];
    groups: number;
  },
): Tensor<Float64Array> {
  const [n, , ...len] = x.shape as number[];
  const [out, cg, ...k] = w.shape as number[];
  const dims = len.length;
  const before = k.map((kk, a) =>
    o.padding === "same" ? Math.floor((o.dilation[a]! * (kk - 1)) / 2) : (o.padding as number[])[a]!,
  );
  const total = k.map((kk, a) => (o.padding === "same" ? o.dilation[a]! * (kk - 1) : 2 * before[a]!));
  const outLen = len.map(
    (l, a) => Math.floor((l! + total[a]! - o.dilation[a]! * (k[a]! - 1) - 1) / o.stride[a]!) + 1,
  );
  const y = new Float64Array(n! * out! * outLen.reduce((p, q) => p * q, 1));
  const xs = strides(x.shape);
  const ws = strides(w.shape);
  const ys = strides([n!, out!, ...outLen]);
  const og = out! / o.groups;
  const pos = (shape: number[]): number[][] => {
    let acc: number[][] = [[]];
    for (const d of shape) acc = acc.flatMap((p) => Array.from({ length: d }, (_, i) => [...p, i]));
    return acc;
  };
  for (let b = 0; b < n!; b++)
    for (let oc = 0; oc < out!; oc++) {
      const g = Math.floor(oc / og);
      for (const op of pos(outLen)) {
        let acc = 0;
        for (let ic = 0; ic < cg!; ic++)
          for (const kp of pos(k)) {
            const ip = op.map((v, a) => v * o.stride[a]! - before[a]! + kp[a]! * o.dilation[a]!);
            if (ip.some((v, a) => v < 0 || v >= len[a]!)) continue;
            let xi = b * xs[0]! + (g * cg! + ic) * xs[1]!;
            let wi = oc * ws[0]! + ic * ws[1]!;
            for (let a = 0; a < dims; a++) {
              xi += ip[a]! * xs[2 + a]!;
              wi += kp[a]! * ws[2 + a]!;
            }
            acc += x.data[xi]! * w.data[wi]!;
          }
        let yi = b * ys[0]! + oc * ys[1]!;
        for (let a = 0; a < dims; a++) yi += op[a]! * ys[2 + a]!;
        y[yi] = acc;
      }
    }
  return { data: y, shape: [n!, out!, ...outLen] };
}

/** `a·b` for 2-D arrays given as row-major data with their shapes. */
export function naiveMatmul(a: Tensor<Float64Array>, b: Tensor<Float64Array>): Tensor<Float64Array> {
  const [m, k] = a.shape as [number, number];
  const n = b.shape[1]!;
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let q = 0; q < k; q++) acc += a.data[i * k + q]! * b.data[q * n + j]!;
      out[i * n + j] = acc;
    }
  return { data: out, shape: [m, n] };
}

export function naiveTranspose(a: Tensor<Float64Array>): Tensor<Float64Array> {
  const [m, n] = a.shape as [number, number];
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[j * m + i] = a.data[i * n + j]!;
  return { data: out, shape: [n, m] };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
