import { allocLike, type FloatArray, type Tensor } from "../tensor";
import { expectSameShape } from "./check";

/** Elementwise `a + b` (same shapes). */
export function add<A extends FloatArray>(a: Tensor<A>, b: Tensor<A>): Tensor<A> {
  expectSameShape("add", a.shape, b.shape, "a and b");
  const out = allocLike(a.data, a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = a.data[i]! + b.data[i]!;
  return { data: out, shape: [...a.shape] };
}

/** `s · a`. */
export function scale<A extends FloatArray>(a: Tensor<A>, s: number): Tensor<A> {
  const out = allocLike(a.data, a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = s * a.data[i]!;
  return { data: out, shape: [...a.shape] };
}

/** In place `dst += s · src` (same shapes). */
export function addScaledInPlace<A extends FloatArray>(dst: Tensor<A>, src: Tensor<A>, s: number): void {
  expectSameShape("addScaledInPlace", dst.shape, src.shape, "dst and src");
  const d = dst.data;
  const x = src.data;
  for (let i = 0; i < d.length; i++) d[i] = d[i]! + s * x[i]!;
}

/** Elementwise product `a ⊙ b` (same shapes). */
export function hadamard<A extends FloatArray>(a: Tensor<A>, b: Tensor<A>): Tensor<A> {
  expectSameShape("hadamard", a.shape, b.shape, "a and b");
  const out = allocLike(a.data, a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = a.data[i]! * b.data[i]!;
  return { data: out, shape: [...a.shape] };
}
