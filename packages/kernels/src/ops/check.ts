import { KernelsError } from "../errors";
import { type FloatArray, formatShape, sameShape, type Tensor } from "../tensor";

/** Throws unless `t` has exactly `rank` dims. Returns its shape. */
export function expectRank(op: string, name: string, t: Tensor<FloatArray>, rank: number): readonly number[] {
  if (t.shape.length !== rank) {
    throw new KernelsError(op, `${name} must be ${rank}-D, got shape ${formatShape(t.shape)}`);
  }
  return t.shape;
}

/** Throws unless the two shapes are equal. */
export function expectSameShape(op: string, a: readonly number[], b: readonly number[], what: string): void {
  if (!sameShape(a, b)) {
    throw new KernelsError(op, `${what}: shapes ${formatShape(a)} and ${formatShape(b)} differ`);
  }
}

/** Throws with a message naming the op unless `ok`. */
export function expect(op: string, ok: boolean, message: string): void {
  if (!ok) throw new KernelsError(op, message);
}

/** True when every array is float32 (the backends' domain; float64 always runs on the JS path). */
export function allF32(...arrays: FloatArray[]): boolean {
  for (const a of arrays) if (!(a instanceof Float32Array)) return false;
  return true;
}
