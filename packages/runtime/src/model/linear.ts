import { matmul, type Tensor, tensor, zeros } from "@lycoris-ts/kernels";
import { addRowBias, checkGradShape, checkInput, checkInt, sumRows, withShape } from "./layer-utils";
import { Module } from "./module";
import { Parameter } from "./parameter";

/**
 * A fully connected layer, as torch `nn.Linear`: `y = x·Wᵀ + b` with weight
 * `[outFeatures, inFeatures]`, for inputs `[..., inFeatures]`. Parameters start
 * at zero; use `initModuleParameters` for torch's default initialisation.
 */
export class Linear extends Module {
  readonly kind = "linear";
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, bias = true) {
    super();
    checkInt("Linear", "inFeatures", inFeatures, 1);
    checkInt("Linear", "outFeatures", outFeatures, 1);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.registerParameter("weight", new Parameter(zeros([outFeatures, inFeatures])));
    this.registerParameter("bias", bias ? new Parameter(zeros([outFeatures])) : null);
  }

  /** Weight `[outFeatures, inFeatures]`. */
  get weight(): Parameter {
    return this.getParameter("weight")!;
  }
  set weight(p: Parameter) {
    this.registerParameter("weight", p);
  }
  /** Bias `[outFeatures]`, or `null`. */
  get bias(): Parameter | null {
    return this.getParameter("bias");
  }
  set bias(p: Parameter | null) {
    this.registerParameter("bias", p);
  }

  override forward(x: Tensor<Float32Array>): Tensor<Float32Array> {
    checkInput("Linear", x, [1, 2, 3, 4, 5, 6], -1, this.inFeatures);
    this.saveInput(x);
    const rows = x.data.length / this.inFeatures;
    const y = matmul(withShape(x, [rows, this.inFeatures]), this.weight.data, { transB: true });
    const bias = this.bias;
    if (bias !== null) addRowBias(y.data, bias.data.data);
    return tensor(y.data, [...x.shape.slice(0, -1), this.outFeatures]);
  }

  override backward(dy: Tensor<Float32Array>): Tensor<Float32Array> {
    const x = this.savedInput();
    checkGradShape("Linear", dy, [...x.shape.slice(0, -1), this.outFeatures]);
    const rows = x.data.length / this.inFeatures;
    const dy2 = withShape(dy, [rows, this.outFeatures]);
    const w = this.weight;
    if (w.requiresGrad) {
      w.accumulateGrad(matmul(dy2, withShape(x, [rows, this.inFeatures]), { transA: true }).data);
    }
    const bias = this.bias;
    if (bias?.requiresGrad) bias.accumulateGrad(sumRows(dy.data, this.outFeatures));
    const dx = matmul(dy2, w.data);
    return tensor(dx.data, x.shape);
  }
}
