import type { FloatArray, Tensor } from "@lycoris-ts/kernels";

/** The kinds of base layer LoKr adapts. */
export type LoKrLayerKind = "linear" | "conv1d" | "conv2d";

/**
 * The shape of the base layer an adapter is attached to.
 *
 * The base weight is `[outFeatures, inFeatures, ...kernelSize]`; for convolutions `inFeatures` is
 * `in_channels / groups` (PEFT factorises that, not `in_channels`).
 */
export interface LoKrLayerShape {
  readonly kind: LoKrLayerKind;
  readonly outFeatures: number;
  /** `in_features` for linear; `in_channels / groups` for convolutions. */
  readonly inFeatures: number;
  /** `[]` for linear, `[k]` for conv1d, `[kh, kw]` for conv2d. */
  readonly kernelSize: readonly number[];
  /** Convolution groups (default 1). */
  readonly groups?: number;
}

/** The configuration values that decide a LoKr layer's parameter shapes. */
export interface LoKrShapeOptions {
  /** The rank `r` (after `rank_pattern`). */
  readonly r: number;
  /** PEFT's `decompose_both`: allow a low-rank left factor. */
  readonly decomposeBoth: boolean;
  /** PEFT's `decompose_factor` (`-1` for the most balanced split). */
  readonly decomposeFactor: number;
  /** PEFT's `use_effective_conv2d` (Tucker core for convolutions with a kernel larger than 1). */
  readonly useEffectiveConv2d: boolean;
}

/** Which form each Kronecker factor takes, and the factorisation of the layer's dimensions. */
export interface LoKrStructure {
  /** `full`: `lokr_w1`; `lowrank`: `lokr_w1_a @ lokr_w1_b`. */
  readonly w1: "full" | "lowrank";
  /** `full`: `lokr_w2`; `lowrank`: `lokr_w2_a @ lokr_w2_b`; `tucker`: `lokr_t2` with `lokr_w2_a`, `lokr_w2_b`. */
  readonly w2: "full" | "lowrank" | "tucker";
  /** `[l, k]` with `outFeatures = l * k` (`l` rows of `w1`, `k` rows of `w2`). */
  readonly outFactors: readonly [number, number];
  /** `[m, n]` with `inFeatures = m * n` (`m` columns of `w1`, `n` columns of `w2`). */
  readonly inFactors: readonly [number, number];
}

/** One parameter name and its shape, e.g. `["lokr_w1", [4, 4]]`. */
export type LoKrParamShape = readonly [string, readonly number[]];

/** The parameter set of one adapter on one layer, keyed by PEFT's names (`lokr_w1`, `lokr_w2_a`, ...). */
export type LoKrParams<A extends FloatArray = FloatArray> = Readonly<Record<string, Tensor<A>>>;

/** How the delta weight is laid out. */
export interface LoKrDeltaOptions {
  /**
   * `"peft"` (default): exactly what PEFT computes, including the permuted layout PEFT produces for a Conv1d
   * with a full 3-D `lokr_w2` (see docs/peft-differences.md). `"kronecker"`: the true Kronecker layout
   * `ΔW[p·k+q, i·n+j, …] = s · w1[p,i] · w2[q,j,…]` in every case.
   */
  readonly layout?: "peft" | "kronecker";
  /**
   * Write ΔW here instead of a fresh array (same array type as the parameters, at least out·in·∏kernel
   * values; the result's `data` is its prefix): a caller merging many modules reuses one buffer.
   */
  readonly out?: FloatArray | undefined;
}

/**
 * Options of {@link lokrForward} / {@link lokrBackward}: the delta layout. The convolution options (padding
 * mode included) and rank dropout are the runtime layer's business: it passes finished `ConvOptions` and
 * masks the output rows itself.
 */
export type LoKrForwardOptions = Omit<LoKrDeltaOptions, "out">;
