import type { FloatArray, Tensor } from "@lycoris-ts/kernels";

/** The base-layer kinds LoHa adapts (PEFT: `nn.Linear`, `nn.Conv1d`, `nn.Conv2d`). */
export type LoHaLayerKind = "linear" | "conv1d" | "conv2d";

/**
 * The geometry of an adapted base layer, as far as LoHa's parameters depend on it.
 *
 * `inFeatures` is the *per-group* input size: `in_features` for a linear layer,
 * `in_channels / groups` for a convolution (the base weight is `[out, in/groups, ...kernel]`).
 */
export interface LoHaLayerShape {
  /** Which kind of base layer this is. */
  readonly kind: LoHaLayerKind;
  /** `out_features` / `out_channels`. */
  readonly outFeatures: number;
  /** `in_features`, or `in_channels / groups` for a convolution. */
  readonly inFeatures: number;
  /** Kernel size: `[]` for linear, `[k]` for conv1d, `[kh, kw]` for conv2d. */
  readonly kernelSize: readonly number[];
  /** Convolution groups (informational: `inFeatures` is already per group). Default 1. */
  readonly groups?: number;
}

/** Options that decide LoHa's parameter layout for one layer. */
export interface LoHaShapeOptions {
  /** The rank `r` of both Hadamard factors (PEFT `r`, after `rank_pattern`). */
  readonly r: number;
  /**
   * PEFT `use_effective_conv2d`: use the Tucker ("effective conv", FedPara Prop. 3) form for
   * Conv1d/Conv2d layers whose kernel is not all ones. Ignored for linear layers and 1×1 / k=1 convs.
   */
  readonly useEffectiveConv2d: boolean;
}

/** Parameter names and shapes of one LoHa adapter on one layer, in PEFT's attribute order. */
export interface LoHaParamLayout {
  /** Which form PEFT uses (mirrors `expected.json` `structure`). */
  readonly structure: { readonly effectiveConv: boolean };
  /** `[name, shape]` pairs in PEFT's attribute order. */
  readonly params: ReadonlyArray<readonly [string, readonly number[]]>;
}

/** LoHa factors of one adapter on one layer, keyed by PEFT parameter name (`hada_w1_a`, …). */
export type LoHaParams<A extends FloatArray = Float32Array> = Readonly<Record<string, Tensor<A>>>;

/**
 * Options of {@link lohaForward} / {@link lohaBackward}. The convolution options (padding mode included)
 * and rank dropout are the runtime layer's business: it passes finished `ConvOptions` and masks the
 * output rows itself.
 */
export interface LoHaApplyOptions {
  /**
   * Linear layers only: `"factorised"` applies ΔW through its rank-≤r² Khatri–Rao form without
   * building it, `"materialised"` builds ΔW and runs a dense product, `"auto"` (default) picks the
   * cheaper by a FLOP estimate ({@link lohaLinearPath}).
   */
  readonly path?: LoHaLinearPath;
}

/** How a linear LoHa adapter is applied. */
export type LoHaLinearPath = "auto" | "factorised" | "materialised";

/** Gradients of {@link lohaBackward}. */
export interface LoHaGradients<A extends FloatArray> {
  /** Gradient with respect to the input `x`. */
  readonly dx: Tensor<A>;
  /** Gradient for every LoHa parameter present in `params`, same names and shapes. */
  readonly grads: Record<string, Tensor<A>>;
}
