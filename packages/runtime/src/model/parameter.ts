import { type Tensor, tensor } from "@lycoris-ts/kernels";
import { ModelError } from "./model-error";

/**
 * A trainable tensor of a module. `grad` accumulates across `backward` calls
 * until it is cleared (`zeroGrad`), as in torch.
 */
export class Parameter {
  /** The values (row-major float32). */
  data: Tensor<Float32Array>;
  /** Accumulated gradient with `data`'s shape, or `null` before the first backward. */
  grad: Tensor<Float32Array> | null = null;
  /** Whether backward passes accumulate a gradient into this parameter. */
  requiresGrad: boolean;

  constructor(data: Tensor<Float32Array>, requiresGrad = true) {
    this.data = data;
    this.requiresGrad = requiresGrad;
  }

  /** The shape of `data`. */
  get shape(): readonly number[] {
    return this.data.shape;
  }

  /**
   * Adds `g` (same shape as `data`) to `grad`, allocating it on first use. Does
   * nothing when `requiresGrad` is false. `g` is copied, never kept.
   */
  accumulateGrad(g: Float32Array): void {
    if (!this.requiresGrad) return;
    if (g.length !== this.data.data.length) {
      throw new ModelError(
        "invalid_input",
        `gradient has ${g.length} values, parameter has ${this.data.data.length}`,
        {
          expected: String(this.data.data.length),
          received: String(g.length),
        },
      );
    }
    if (this.grad === null) {
      this.grad = tensor(Float32Array.from(g), this.data.shape);
      return;
    }
    const dst = this.grad.data;
    for (let i = 0; i < dst.length; i++) dst[i]! += g[i]!;
  }
}
