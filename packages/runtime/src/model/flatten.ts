import { formatShape, type Tensor, tensor } from "@lycoris-ts/kernels";
import { checkGradShape } from "./layer-utils";
import { ModelError } from "./model-error";
import { Module } from "./module";

/** Merges dims `startDim..endDim` into one, as torch `nn.Flatten` (default: all but the batch dim). */
export class Flatten extends Module {
  readonly kind = "flatten";
  readonly startDim: number;
  readonly endDim: number;

  constructor(startDim = 1, endDim = -1) {
    super();
    this.startDim = startDim;
    this.endDim = endDim;
  }

  override forward(x: Tensor<Float32Array>): Tensor<Float32Array> {
    this.saveInput(x);
    return tensor(x.data, this.#outShape(x.shape));
  }

  override backward(dy: Tensor<Float32Array>): Tensor<Float32Array> {
    const x = this.savedInput();
    checkGradShape("Flatten", dy, this.#outShape(x.shape));
    return tensor(dy.data, x.shape);
  }

  #outShape(shape: readonly number[]): number[] {
    const r = shape.length;
    const s = this.startDim < 0 ? r + this.startDim : this.startDim;
    const e = this.endDim < 0 ? r + this.endDim : this.endDim;
    if (r === 0) return [1];
    if (s < 0 || e >= r || s > e) {
      throw new ModelError(
        "invalid_input",
        `Flatten(${this.startDim}, ${this.endDim}) does not fit an input of shape ${formatShape(shape)}`,
        {
          field: "input",
          expected: `rank > ${Math.max(this.startDim, this.endDim)}`,
          received: formatShape(shape),
        },
      );
    }
    const merged = shape.slice(s, e + 1).reduce((a, b) => a * b, 1);
    return [...shape.slice(0, s), merged, ...shape.slice(e + 1)];
  }
}
