import {
  type ConvBackwardOptions,
  type ConvGrads,
  type ConvOptions,
  conv1d,
  conv1dBackward,
  conv2d,
  conv2dBackward,
  type PaddingMode,
  type Tensor,
  tensor,
  zeros,
} from "@lycoris-ts/kernels";
import { checkInput, checkInt } from "./layer-utils";
import { ModelError } from "./model-error";
import { Module } from "./module";
import { Parameter } from "./parameter";

/** Hyper-parameters of {@link Conv1d} / {@link Conv2d}; a number stands for the same value on every axis. */
export interface ConvModuleOptions {
  /** Default 1. */
  readonly stride?: number | readonly number[];
  /** Default 0. `"same"` needs stride 1. */
  readonly padding?: number | readonly number[] | "same" | "valid";
  /** Default 1. */
  readonly dilation?: number | readonly number[];
  /** Default 1; must divide both channel counts. */
  readonly groups?: number;
  /** Default true. */
  readonly bias?: boolean;
  /** Default `"zeros"`. */
  readonly paddingMode?: PaddingMode;
}

const PADDING_MODES: readonly string[] = ["zeros", "reflect", "replicate", "circular"];

/** Shared base of the torch-style convolutions {@link Conv1d}, {@link Conv2d} and {@link Conv3d}. */
export abstract class ConvLayer extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  /** Kernel extent per spatial axis. */
  readonly kernelSize: readonly number[];
  readonly stride: readonly number[];
  /** Explicit per-axis padding, or `"same"` / `"valid"`. */
  readonly padding: readonly number[] | "same" | "valid";
  readonly dilation: readonly number[];
  readonly groups: number;
  /** How the base layer pads its input (the adapter path may differ, see the adapters). */
  readonly paddingMode: PaddingMode;
  readonly #dims: number;
  readonly #name: string;

  protected constructor(
    name: string,
    dims: number,
    inChannels: number,
    outChannels: number,
    kernelSize: number | readonly number[],
    o: ConvModuleOptions,
  ) {
    super();
    this.#dims = dims;
    this.#name = name;
    checkInt(name, "inChannels", inChannels, 1);
    checkInt(name, "outChannels", outChannels, 1);
    const groups = o.groups ?? 1;
    checkInt(name, "groups", groups, 1);
    if (inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new ModelError(
        "invalid_hyperparameter",
        `${name}: groups (${groups}) must divide inChannels (${inChannels}) and outChannels (${outChannels})`,
        { field: "groups", expected: "a divisor of both channel counts", received: String(groups) },
      );
    }
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.groups = groups;
    this.kernelSize = perAxis(name, "kernelSize", kernelSize, dims, 1);
    this.stride = perAxis(name, "stride", o.stride ?? 1, dims, 1);
    this.dilation = perAxis(name, "dilation", o.dilation ?? 1, dims, 1);
    const padding = o.padding ?? 0;
    this.padding =
      padding === "same" || padding === "valid" ? padding : perAxis(name, "padding", padding, dims, 0);
    if (this.padding === "same" && this.stride.some((s) => s !== 1)) {
      throw new ModelError("invalid_hyperparameter", `${name}: padding 'same' needs stride 1`, {
        field: "padding",
        expected: "stride 1 with padding 'same'",
        received: `stride [${this.stride.join(", ")}]`,
      });
    }
    const mode = o.paddingMode ?? "zeros";
    if (!PADDING_MODES.includes(mode)) {
      throw new ModelError("invalid_hyperparameter", `${name}: unknown paddingMode '${mode}'`, {
        field: "paddingMode",
        expected: PADDING_MODES.join(" | "),
        received: String(mode),
      });
    }
    this.paddingMode = mode;
    this.registerParameter(
      "weight",
      new Parameter(zeros([outChannels, inChannels / groups, ...this.kernelSize])),
    );
    this.registerParameter("bias", (o.bias ?? true) ? new Parameter(zeros([outChannels])) : null);
  }

  /** Weight `[outChannels, inChannels / groups, ...kernelSize]`. */
  get weight(): Parameter {
    return this.getParameter("weight")!;
  }
  set weight(p: Parameter) {
    this.registerParameter("weight", p);
  }
  /** Bias `[outChannels]`, or `null`. */
  get bias(): Parameter | null {
    return this.getParameter("bias");
  }
  set bias(p: Parameter | null) {
    this.registerParameter("bias", p);
  }

  /** The options to pass to the kernels' convolution for this layer (its own padding mode). */
  get convOptions(): ConvOptions {
    return {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
      paddingMode: this.paddingMode,
    };
  }

  protected abstract run(
    x: Tensor<Float32Array>,
    w: Tensor<Float32Array>,
    b: Tensor<Float32Array> | null,
  ): Tensor<Float32Array>;
  /** Gradients of {@link run}; `need` says which ones are wanted (skipped ones may be zeros). */
  protected abstract runBackward(
    x: Tensor<Float32Array>,
    w: Tensor<Float32Array>,
    dy: Tensor<Float32Array>,
    need: ConvBackwardOptions,
  ): ConvGrads<Float32Array>;

  /** Input `[N, C, ...spatial]` (or unbatched `[C, ...spatial]`); output `[N, outChannels, ...]`. */
  override forward(x: Tensor<Float32Array>): Tensor<Float32Array> {
    const d = this.#dims;
    checkInput(this.#name, x, [d + 1, d + 2], -(d + 1), this.inChannels);
    this.saveInput(x);
    const unbatched = x.shape.length === d + 1;
    const xb = unbatched ? tensor(x.data, [1, ...x.shape]) : x;
    const y = this.run(xb, this.weight.data, this.bias?.data ?? null);
    return unbatched ? tensor(y.data, y.shape.slice(1)) : y;
  }

  override backward(dy: Tensor<Float32Array>): Tensor<Float32Array> {
    const x = this.savedInput();
    const d = this.#dims;
    const unbatched = x.shape.length === d + 1;
    const xb = unbatched ? tensor(x.data, [1, ...x.shape]) : x;
    const dyb = unbatched ? tensor(dy.data, [1, ...dy.shape]) : dy;
    checkInput(this.#name, dyb, [d + 2], 1, this.outChannels);
    checkInput(this.#name, dyb, [d + 2], 0, xb.shape[0]!);
    // A frozen layer (e.g. the base layer under an adapter) needs only dx: skip the weight GEMM.
    const weightGrad = this.weight.requiresGrad || this.bias?.requiresGrad === true;
    const { dx, dw, db } = this.runBackward(xb, this.weight.data, dyb, { weight: weightGrad });
    this.weight.accumulateGrad(dw.data);
    const bias = this.bias;
    if (bias?.requiresGrad) {
      bias.accumulateGrad(db.data);
    }
    return tensor(dx.data, x.shape);
  }
}

function perAxis(
  module: string,
  name: string,
  v: number | readonly number[],
  dims: number,
  min: number,
): readonly number[] {
  const arr = typeof v === "number" ? new Array<number>(dims).fill(v) : [...v];
  if (arr.length === 1 && dims > 1) return perAxis(module, name, arr[0]!, dims, min);
  if (arr.length !== dims) {
    throw new ModelError(
      "invalid_hyperparameter",
      `${module}: ${name} needs ${dims} value(s), got [${arr.join(", ")}]`,
      {
        field: name,
        expected: `${dims} value(s)`,
        received: `[${arr.join(", ")}]`,
      },
    );
  }
  for (const a of arr) checkInt(module, name, a, min);
  return arr;
}

/**
 * The convolutions adapters can wrap: {@link Conv1d} and {@link Conv2d} (PEFT's
 * LoKr/LoHa support exactly these besides Linear). {@link Conv3d} is a
 * {@link ConvLayer} but not a `ConvNd`.
 */
export abstract class ConvNd extends ConvLayer {}

/**
 * A 1-D convolution, as torch `nn.Conv1d`: input `[N, C, L]`, weight
 * `[out, in/groups, k]`, with torch's padding modes (computed by the kernels'
 * `conv1d`).
 */
export class Conv1d extends ConvNd {
  readonly kind = "conv1d";

  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number | readonly number[],
    o: ConvModuleOptions = {},
  ) {
    super("Conv1d", 1, inChannels, outChannels, kernelSize, o);
  }

  protected override run(x: Tensor<Float32Array>, w: Tensor<Float32Array>, b: Tensor<Float32Array> | null) {
    return conv1d(x, w, b, this.convOptions);
  }
  protected override runBackward(
    x: Tensor<Float32Array>,
    w: Tensor<Float32Array>,
    dy: Tensor<Float32Array>,
    need: ConvBackwardOptions,
  ) {
    return conv1dBackward(x, w, dy, this.convOptions, need);
  }
}

/**
 * A 2-D convolution, as torch `nn.Conv2d`: input `[N, C, H, W]`, weight
 * `[out, in/groups, kh, kw]`, with torch's padding modes (computed by the
 * kernels' `conv2d`).
 */
export class Conv2d extends ConvNd {
  readonly kind = "conv2d";

  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number | readonly number[],
    o: ConvModuleOptions = {},
  ) {
    super("Conv2d", 2, inChannels, outChannels, kernelSize, o);
  }

  protected override run(x: Tensor<Float32Array>, w: Tensor<Float32Array>, b: Tensor<Float32Array> | null) {
    return conv2d(x, w, b, this.convOptions);
  }
  protected override runBackward(
    x: Tensor<Float32Array>,
    w: Tensor<Float32Array>,
    dy: Tensor<Float32Array>,
    need: ConvBackwardOptions,
  ) {
    return conv2dBackward(x, w, dy, this.convOptions, need);
  }
}
