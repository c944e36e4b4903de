import { formatShape, type Tensor, tensor, zeros } from "@lycoris-ts/kernels";
import { checkGradShape, checkInt } from "./layer-utils";
import { ModelError } from "./model-error";
import { Module } from "./module";
import { Parameter } from "./parameter";

/** Options of {@link LayerNorm}. */
export interface LayerNormOptions {
  /** Added to the variance (default 1e-5). */
  readonly eps?: number;
  /** Learnable weight (and bias) of `normalizedShape` (default true). */
  readonly elementwiseAffine?: boolean;
  /** Learnable bias when affine (default true). */
  readonly bias?: boolean;
}

/**
 * Layer normalisation over the trailing `normalizedShape` dims, as torch
 * `nn.LayerNorm` (biased variance): `y = (x − mean) / sqrt(var + eps) · weight + bias`.
 * Weight starts at ones and bias at zeros.
 */
export class LayerNorm extends Module {
  readonly kind = "layernorm";
  readonly normalizedShape: readonly number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;

  constructor(normalizedShape: number | readonly number[], o: LayerNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
    for (const s of this.normalizedShape) checkInt("LayerNorm", "normalizedShape", s, 1);
    this.eps = o.eps ?? 1e-5;
    if (!(this.eps >= 0)) {
      throw new ModelError("invalid_hyperparameter", `LayerNorm: eps must be >= 0, got ${this.eps}`, {
        field: "eps",
        expected: ">= 0",
        received: String(this.eps),
      });
    }
    this.elementwiseAffine = o.elementwiseAffine ?? true;
    if (this.elementwiseAffine) {
      const w = zeros(this.normalizedShape);
      w.data.fill(1);
      this.registerParameter("weight", new Parameter(w));
      this.registerParameter("bias", (o.bias ?? true) ? new Parameter(zeros(this.normalizedShape)) : null);
    }
  }

  /** Weight of `normalizedShape`, or `null` without affine. */
  get weight(): Parameter | null {
    return this.getParameter("weight");
  }
  /** Bias of `normalizedShape`, or `null`. */
  get bias(): Parameter | null {
    return this.getParameter("bias");
  }

  override forward(x: Tensor<Float32Array>): Tensor<Float32Array> {
    const n = this.#checkShape(x);
    this.saveInput(x);
    const w = this.weight?.data.data ?? null;
    const b = this.bias?.data.data ?? null;
    const out = new Float32Array(x.data.length);
    const xd = x.data;
    for (let r = 0; r < xd.length; r += n) {
      const { mean, rstd } = this.#stats(xd, r, n);
      for (let j = 0; j < n; j++) {
        let v = (xd[r + j]! - mean) * rstd;
        if (w !== null) v *= w[j]!;
        if (b !== null) v += b[j]!;
        out[r + j] = v;
      }
    }
    return tensor(out, x.shape);
  }

  override backward(dy: Tensor<Float32Array>): Tensor<Float32Array> {
    const x = this.savedInput();
    const n = this.#checkShape(x);
    checkGradShape("LayerNorm", dy, x.shape);
    const weight = this.weight;
    const bias = this.bias;
    const w = weight?.data.data ?? null;
    const dw = new Float64Array(n);
    const db = new Float64Array(n);
    const dx = new Float32Array(x.data.length);
    const xd = x.data;
    const g = dy.data;
    const xhat = new Float64Array(n);
    const dxhat = new Float64Array(n);
    for (let r = 0; r < xd.length; r += n) {
      const { mean, rstd } = this.#stats(xd, r, n);
      let sumD = 0;
      let sumDX = 0;
      for (let j = 0; j < n; j++) {
        const xh = (xd[r + j]! - mean) * rstd;
        const gj = g[r + j]!;
        xhat[j] = xh;
        dw[j]! += gj * xh;
        db[j]! += gj;
        const d = w !== null ? gj * w[j]! : gj;
        dxhat[j] = d;
        sumD += d;
        sumDX += d * xh;
      }
      for (let j = 0; j < n; j++) {
        dx[r + j] = (rstd / n) * (n * dxhat[j]! - sumD - xhat[j]! * sumDX);
      }
    }
    if (weight?.requiresGrad) weight.accumulateGrad(Float32Array.from(dw));
    if (bias?.requiresGrad) bias.accumulateGrad(Float32Array.from(db));
    return tensor(dx, x.shape);
  }

  /** Mean and 1/sqrt(var + eps) of one row, in float64. */
  #stats(xd: Float32Array, r: number, n: number): { mean: number; rstd: number } {
    let s = 0;
    for (let j = 0; j < n; j++) s += xd[r + j]!;
    const mean = s / n;
    let v = 0;
    for (let j = 0; j < n; j++) {
      const c = xd[r + j]! - mean;
      v += c * c;
    }
    return { mean, rstd: 1 / Math.sqrt(v / n + this.eps) };
  }

  #checkShape(x: Tensor<Float32Array>): number {
    const k = this.normalizedShape.length;
    const tail = x.shape.slice(x.shape.length - k);
    if (x.shape.length < k || tail.some((v, i) => v !== this.normalizedShape[i])) {
      throw new ModelError(
        "invalid_input",
        `LayerNorm over ${formatShape(this.normalizedShape)} got an input of shape ${formatShape(x.shape)}`,
        {
          field: "input",
          expected: `[..., ${this.normalizedShape.join(", ")}]`,
          received: formatShape(x.shape),
        },
      );
    }
    return this.normalizedShape.reduce((a, b) => a * b, 1);
  }
}
