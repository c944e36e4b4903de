import { createRng, type Rng, type Tensor, tensor } from "@lycoris-ts/kernels";

/** A float64 tensor of N(0, std²) values from `rng`. */
export function randn64(shape: readonly number[], rng: Rng, std = 1): Tensor<Float64Array> {
  const n = shape.reduce((a, d) => a * d, 1);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = std * rng.normal();
  return tensor(d, shape);
}

/** Random float64 LoHa factors for a given `[name, shape]` layout. */
export function randomParams64(
  layout: ReadonlyArray<readonly [string, readonly number[]]>,
  seed: number,
  std = 0.5,
): Record<string, Tensor<Float64Array>> {
  const rng = createRng(seed);
  const out: Record<string, Tensor<Float64Array>> = {};
  for (const [name, shape] of layout) out[name] = randn64(shape, rng, std);
  return out;
}

/** Float32 copy of float64 params. */
export function toF32Params(p: Record<string, Tensor<Float64Array>>): Record<string, Tensor<Float32Array>> {
  const out: Record<string, Tensor<Float32Array>> = {};
  for (const [k, t] of Object.entries(p)) out[k] = tensor(new Float32Array(t.data), t.shape);
  return out;
}
