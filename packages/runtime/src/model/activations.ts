import { type Tensor, tensor } from "@lycoris-ts/kernels";
import { checkGradShape } from "./layer-utils";
import { Module } from "./module";

/** Rectified linear unit, `max(0, x)` elementwise (the gradient at 0 is 0, as torch). */
export class ReLU extends Module {
  readonly kind = "relu";

  override forward(x: Tensor<Float32Array>): Tensor<Float32Array> {
    this.saveInput(x);
    const out = new Float32Array(x.data.length);
    for (let i = 0; i < out.length; i++) {
      const v = x.data[i]!;
      out[i] = Math.max(v, 0);
    }
    return tensor(out, x.shape);
  }

  override backward(dy: Tensor<Float32Array>): Tensor<Float32Array> {
    const x = this.savedInput();
    checkGradShape("ReLU", dy, x.shape);
    const dx = new Float32Array(x.data.length);
    for (let i = 0; i < dx.length; i++) dx[i] = x.data[i]! > 0 ? dy.data[i]! : 0;
    return tensor(dx, x.shape);
  }
}

/** Passes its input through unchanged. */
export class Identity extends Module {
  readonly kind = "identity";

  override forward(x: Tensor<Float32Array>): Tensor<Float32Array> {
    return x;
  }

  override backward(dy: Tensor<Float32Array>): Tensor<Float32Array> {
    return dy;
  }
}
