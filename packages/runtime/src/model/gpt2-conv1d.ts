import { matmul, type Tensor, tensor, zeros } from "@lycoris-ts/kernels";
import { addRowBias, checkGradShape, checkInput, checkInt, sumRows, withShape } from "./layer-utils";
import { Module } from "./module";
import { Parameter } from "./parameter";

/**
 * The GPT-2 style "Conv1D" of Hugging Face transformers: a linear layer with a
 * transposed weight `[nx, nf]` (`nx` inputs, `nf` outputs), `y = x·W + b`, for
 * inputs `[..., nx]`. Counts as a linear layer for adapters.
 */
export class GPT2Conv1D extends Module {
  readonly kind = "gpt2_conv1d";
  /** Input features. */
  readonly nx: number;
  /** Output features. */
  readonly nf: number;

  constructor(nf: number, nx: number) {
    super();
    checkInt("GPT2Conv1D", "nf", nf, 1);
    checkInt("GPT2Conv1D", "nx", nx, 1);
    this.nx = nx;
    this.nf = nf;
    this.registerParameter("weight", new Parameter(zeros([nx, nf])));
    this.registerParameter("bias", new Parameter(zeros([nf])));
  }

  /** Weight `[nx, nf]`. */
  get weight(): Parameter {
    return this.getParameter("weight")!;
  }
  set weight(p: Parameter) {
    this.registerParameter("weight", p);
  }
  /** Bias `[nf]`. */
  get bias(): Parameter {
    return this.getParameter("bias")!;
  }
  set bias(p: Parameter) {
    this.registerParameter("bias", p);
  }

  override forward(x: Tensor<Float32Array>): Tensor<Float32Array> {
    checkInput("GPT2Conv1D", x, [1, 2, 3, 4, 5, 6], -1, this.nx);
    this.saveInput(x);
    const rows = x.data.length / this.nx;
    const y = matmul(withShape(x, [rows, this.nx]), this.weight.data);
    addRowBias(y.data, this.bias.data.data);
    return tensor(y.data, [...x.shape.slice(0, -1), this.nf]);
  }

  override backward(dy: Tensor<Float32Array>): Tensor<Float32Array> {
    const x = this.savedInput();
    checkGradShape("GPT2Conv1D", dy, [...x.shape.slice(0, -1), this.nf]);
    const rows = x.data.length / this.nx;
    const dy2 = withShape(dy, [rows, this.nf]);
    const w = this.weight;
    if (w.requiresGrad) w.accumulateGrad(matmul(withShape(x, [rows, this.nx]), dy2, { transA: true }).data);
    if (this.bias.requiresGrad) this.bias.accumulateGrad(sumRows(dy.data, this.nf));
    const dx = matmul(dy2, w.data, { transB: true });
    return tensor(dx.data, x.shape);
  }
}
