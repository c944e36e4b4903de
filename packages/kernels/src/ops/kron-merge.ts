import { kronMergeJs } from "../backend/js-kernels";
import { backendFor } from "../backend/resolve-backend";
import { KernelsError } from "../errors";
import { type FloatArray, formatShape, type Tensor } from "../tensor";
import { allF32, expectRank } from "./check";

/** Shape of `kron(a, b)` for a [p,q] and b [r,s,...kernel]: `[p·r, q·s, ...kernel]`. */
export function kronShape(op: string, a: Tensor<FloatArray>, b: Tensor<FloatArray>): number[] {
  const [p, q] = expectRank(op, "a", a, 2) as [number, number];
  if (b.shape.length < 2) throw new KernelsError(op, `b must be at least 2-D, got ${formatShape(b.shape)}`);
  return [p * b.shape[0]!, q * b.shape[1]!, ...b.shape.slice(2)];
}

/** Runs `w += scale·kron(a, b)` on flat data (shapes already checked). */
export function kronMergeData(
  w: FloatArray,
  a: Tensor<FloatArray>,
  b: Tensor<FloatArray>,
  scale: number,
): void {
  const p = a.shape[0]!;
  const q = a.shape[1]!;
  const r = b.shape[0]!;
  const sk = r === 0 ? 0 : b.data.length / r;
  if (allF32(w, a.data, b.data)) {
    const be = backendFor("kronMerge", w.length);
    if (be.kronMerge) {
      be.kronMerge(w as Float32Array, a.data as Float32Array, p, q, b.data as Float32Array, r, sk, scale);
      return;
    }
  }
  kronMergeJs(w, a.data, p, q, b.data, r, sk, scale);
}

/**
 * In place `w += s · kron(a, b)` without allocating the product (`s < 0` unmerges). a is [p,q],
 * b is [r,s,...kernel], w must be [p·r, q·s, ...kernel].
 */
export function kronMergeInto<A extends FloatArray>(
  w: Tensor<A>,
  a: Tensor<A>,
  b: Tensor<A>,
  s: number,
): void {
  const shape = kronShape("kronMergeInto", a, b);
  if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
    throw new KernelsError(
      "kronMergeInto",
      `w has shape ${formatShape(w.shape)} but kron(a, b) is ${formatShape(shape)}`,
    );
  }
  kronMergeData(w.data, a, b, s);
}
