import { type Rng, type Tensor, tensor } from "@lycoris-ts/kernels";
import { checkGradShape } from "./layer-utils";
import { ModelError } from "./model-error";
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

/**
 * Inverted dropout, as torch `nn.Dropout`: in training mode each element is
 * zeroed with probability `p` and the rest scaled by `1/(1−p)`, drawing from
 * the module's seeded `rng`; in eval mode it passes its input through.
 */
export class Dropout extends Module {
  readonly kind = "dropout";
  /** Probability of zeroing an element. */
  readonly p: number;
  readonly #rng: Rng;
  #mask: Float32Array | null = null;

  constructor(p: number, rng: Rng) {
    super();
    if (!(p >= 0 && p < 1)) {
      throw new ModelError("invalid_hyperparameter", `Dropout: p must be in [0, 1), got ${p}`, {
        field: "p",
        expected: "in [0, 1)",
        received: String(p),
      });
    }
    this.p = p;
    this.#rng = rng;
  }

  override forward(x: Tensor<Float32Array>): Tensor<Float32Array> {
    if (!this.training || this.p === 0) {
      this.#mask = null;
      return x;
    }
    const keep = 1 / (1 - this.p);
    const mask = new Float32Array(x.data.length);
    const out = new Float32Array(x.data.length);
    for (let i = 0; i < mask.length; i++) {
      const m = this.#rng.uniform() < this.p ? 0 : keep;
      mask[i] = m;
      out[i] = x.data[i]! * m;
    }
    this.#mask = mask;
    return tensor(out, x.shape);
  }

  override backward(dy: Tensor<Float32Array>): Tensor<Float32Array> {
    const mask = this.#mask;
    if (mask === null) return dy;
    if (mask.length !== dy.data.length) {
      throw new ModelError("invalid_input", "Dropout backward: gradient size differs from the last forward", {
        field: "dy",
        expected: String(mask.length),
        received: String(dy.data.length),
      });
    }
    const dx = new Float32Array(mask.length);
    for (let i = 0; i < dx.length; i++) dx[i] = dy.data[i]! * mask[i]!;
    return tensor(dx, dy.shape);
  }
}
