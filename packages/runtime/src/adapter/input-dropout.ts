import type { Rng, Tensor } from "@lycoris-ts/kernels";

/** An input after dropout, with the per-element factor it was multiplied by. */
export interface DroppedInput {
  readonly x: Tensor<Float32Array>;
  /** `0` for dropped elements, `1 / (1 − p)` for kept ones (torch's `nn.Dropout`). */
  readonly factor: Float32Array;
}

/** torch's `nn.Dropout(p)` in training mode, or `null` when `p` is 0 (identity). */
export function dropInput(x: Tensor<Float32Array>, p: number, rng: Rng): DroppedInput | null {
  if (!(p > 0)) return null;
  const keepScale = p >= 1 ? 0 : 1 / (1 - p);
  const factor = new Float32Array(x.data.length);
  const out = new Float32Array(x.data.length);
  for (let i = 0; i < factor.length; i++) {
    factor[i] = rng.uniform() >= p ? keepScale : 0;
    out[i] = x.data[i]! * factor[i]!;
  }
  return { x: { data: out, shape: [...x.shape] }, factor };
}

/** The gradient through {@link dropInput}: `dx ⊙ factor`, in place. */
export function dropInputBackward(dx: Tensor<Float32Array>, dropped: DroppedInput): void {
  const d = dx.data;
  for (let i = 0; i < d.length; i++) d[i] = d[i]! * dropped.factor[i]!;
}
