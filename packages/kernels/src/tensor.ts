import { KernelsError } from "./errors";

/** The element arrays a tensor can hold. */
export type FloatArray = Float32Array | Float64Array;

/** A row-major tensor: flat element data plus its shape. */
export interface Tensor<A extends FloatArray = Float32Array> {
  readonly data: A;
  readonly shape: readonly number[];
}

/** Number of elements of a tensor with this shape (1 for a scalar shape `[]`). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new KernelsError("numel", `shape ${formatShape(shape)} has an invalid dimension ${d}`);
    }
    n *= d;
  }
  return n;
}

/** Whether two shapes are equal, dimension by dimension. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** A shape as messages show it: `[2, 3]`. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** Wraps `data` as a tensor of `shape`; throws when the element count does not match. */
export function tensor<A extends FloatArray>(data: A, shape: readonly number[]): Tensor<A> {
  const n = numel(shape);
  if (data.length !== n) {
    throw new KernelsError("tensor", `shape ${formatShape(shape)} needs ${n} elements, got ${data.length}`);
  }
  return { data, shape: [...shape] };
}

/** A float32 tensor of zeros. */
export function zeros(shape: readonly number[]): Tensor<Float32Array> {
  return { data: new Float32Array(numel(shape)), shape: [...shape] };
}

/** A float64 tensor of zeros. */
export function zeros64(shape: readonly number[]): Tensor<Float64Array> {
  return { data: new Float64Array(numel(shape)), shape: [...shape] };
}

/** Same data, new shape (no copy). Throws when the element counts differ. */
export function reshape<A extends FloatArray>(t: Tensor<A>, shape: readonly number[]): Tensor<A> {
  if (numel(shape) !== t.data.length) {
    throw new KernelsError(
      "reshape",
      `cannot reshape ${formatShape(t.shape)} (${t.data.length} elements) to ${formatShape(shape)}`,
    );
  }
  return { data: t.data, shape: [...shape] };
}

/** Allocates an array of the same element type as `like`. */
export function allocLike<A extends FloatArray>(like: A, n: number): A {
  return (like instanceof Float64Array ? new Float64Array(n) : new Float32Array(n)) as A;
}

/**
 * The output array of an op producing `n` values like `like`: `out` when given (same array type, at
 * least `n` values; the result is its first `n`, whatever they held is overwritten), else a fresh
 * array. Reusing one output buffer across calls avoids touching fresh memory, which costs more than
 * the arithmetic of most large ops. `out` must not overlap the op's inputs.
 *
 * @throws KernelsError when `out` has another array type or is too short.
 */
export function outputLike<A extends FloatArray>(op: string, like: A, n: number, out?: FloatArray): A {
  if (out === undefined) return allocLike(like, n);
  if (out.constructor !== like.constructor || out.length < n) {
    throw new KernelsError(
      op,
      `out must be a ${like.constructor.name} of at least ${n} values, got a ${out.constructor.name} of ${out.length}`,
    );
  }
  return out.subarray(0, n) as A;
}

/** Reorders axes (like `torch.permute`) and returns a contiguous copy. */
export function permute<A extends FloatArray>(t: Tensor<A>, axes: readonly number[]): Tensor<A> {
  const rank = t.shape.length;
  if (axes.length !== rank || new Set(axes).size !== rank || axes.some((a) => a < 0 || a >= rank)) {
    throw new KernelsError("permute", `axes [${axes.join(", ")}] are not a permutation of ${rank} dims`);
  }
  const inStrides = new Array<number>(rank).fill(1);
  for (let d = rank - 2; d >= 0; d--) inStrides[d] = inStrides[d + 1]! * t.shape[d + 1]!;
  const outShape = axes.map((a) => t.shape[a]!);
  const strides = axes.map((a) => inStrides[a]!);
  const out = allocLike(t.data, t.data.length);
  const idx = new Array<number>(rank).fill(0);
  const src = t.data;
  const n = out.length;
  if (n === 0) return { data: out, shape: outShape };
  const last = rank - 1;
  const lastLen = rank > 0 ? outShape[last]! : 1;
  const lastStride = rank > 0 ? strides[last]! : 0;
  let o = 0;
  while (o < n) {
    let base = 0;
    for (let d = 0; d < last; d++) base += idx[d]! * strides[d]!;
    for (let j = 0; j < lastLen; j++) out[o++] = src[base + j * lastStride]!;
    for (let d = last - 1; d >= 0; d--) {
      idx[d] = idx[d]! + 1;
      if (idx[d]! < outShape[d]!) break;
      idx[d] = 0;
    }
  }
  return { data: out, shape: outShape };
}

/** Converts to float64 (copies). */
export function toFloat64(t: Tensor<FloatArray>): Tensor<Float64Array> {
  return { data: Float64Array.from(t.data), shape: [...t.shape] };
}

/** Converts to float32 (copies, rounding to nearest). */
export function toFloat32(t: Tensor<FloatArray>): Tensor<Float32Array> {
  return { data: Float32Array.from(t.data), shape: [...t.shape] };
}
