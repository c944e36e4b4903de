import type { Tensor } from "@lycoris-ts/kernels";

/** What training and evaluation need: a plain `Module` and a `PeftModel` both fit. */
export interface Network {
  forward(x: Tensor<Float32Array>): Tensor<Float32Array>;
  backward(dy: Tensor<Float32Array>): Tensor<Float32Array>;
  train(mode?: boolean): unknown;
}
