import { type Tensor, tensor, zeros } from "@lycoris-ts/kernels";
import { checkGradShape, checkInt } from "./layer-utils";
import { ModelError } from "./model-error";
import { Module } from "./module";
import { Parameter } from "./parameter";

/**
 * A lookup table, as torch `nn.Embedding`: weight `[numEmbeddings, embeddingDim]`.
 * The input holds integer indices (stored as float32); the output appends
 * `embeddingDim` to the input's shape. Indices get no gradient (backward returns zeros).
 */
export class Embedding extends Module {
  readonly kind = "embedding";
  readonly numEmbeddings: number;
  readonly embeddingDim: number;

  constructor(numEmbeddings: number, embeddingDim: number) {
    super();
    checkInt("Embedding", "numEmbeddings", numEmbeddings, 1);
    checkInt("Embedding", "embeddingDim", embeddingDim, 1);
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    this.registerParameter("weight", new Parameter(zeros([numEmbeddings, embeddingDim])));
  }

  /** Weight `[numEmbeddings, embeddingDim]`. */
  get weight(): Parameter {
    return this.getParameter("weight")!;
  }
  set weight(p: Parameter) {
    this.registerParameter("weight", p);
  }

  override forward(x: Tensor<Float32Array>): Tensor<Float32Array> {
    const d = this.embeddingDim;
    const w = this.weight.data.data;
    const out = new Float32Array(x.data.length * d);
    for (let i = 0; i < x.data.length; i++) {
      const idx = this.#index(x.data[i]!);
      out.set(w.subarray(idx * d, idx * d + d), i * d);
    }
    this.saveInput(x);
    return tensor(out, [...x.shape, d]);
  }

  override backward(dy: Tensor<Float32Array>): Tensor<Float32Array> {
    const x = this.savedInput();
    const d = this.embeddingDim;
    checkGradShape("Embedding", dy, [...x.shape, d]);
    if (this.weight.requiresGrad) {
      const g = new Float32Array(this.numEmbeddings * d);
      for (let i = 0; i < x.data.length; i++) {
        const idx = this.#index(x.data[i]!);
        for (let j = 0; j < d; j++) g[idx * d + j]! += dy.data[i * d + j]!;
      }
      this.weight.accumulateGrad(g);
    }
    return zeros(x.shape);
  }

  #index(v: number): number {
    if (!Number.isInteger(v) || v < 0 || v >= this.numEmbeddings) {
      throw new ModelError(
        "invalid_input",
        `Embedding index ${v} is not an integer in [0, ${this.numEmbeddings})`,
        {
          field: "input",
          expected: `integer in [0, ${this.numEmbeddings})`,
          received: String(v),
        },
      );
    }
    return v;
  }
}
