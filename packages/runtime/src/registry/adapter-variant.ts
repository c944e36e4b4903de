import type { ConvOptions, FloatArray, LazySvd, Rng, Tensor } from "@lycoris-ts/kernels";
import type { LycorisConfig } from "@lycoris-ts/lycoris-config";
import type { DeltaExtraction, DeltaExtractionOptions } from "./delta-extraction";
import type { KohyaFormat } from "./kohya-format";
import type { ParameterProblem, ParameterShapes, ParameterStructure } from "./parameter-structure";

/**
 * Layer kinds an adapter variant can adapt: torch's Linear, Conv1d, Conv2d and
 * Embedding, and transformers' GPT-2 `Conv1D` (a linear layer with a
 * transposed `[in, out]` weight). A variant lists the ones it supports in
 * {@link AdapterVariant.supportedKinds}.
 */
export type AdaptableKind = "linear" | "conv1d" | "conv2d" | "embedding" | "gpt2_conv1d";

/**
 * What a variant sees of the base layer it adapts. For convolutions,
 * `inFeatures` is `in_channels / groups` (the weight's second dimension), as
 * PEFT computes shapes from the weight. For an embedding, `inFeatures` is
 * `num_embeddings` and `outFeatures` `embedding_dim`; for a GPT-2 `Conv1D`,
 * `nx` and `nf` (its weight is `[nx, nf]`).
 */
export interface LayerGeometry {
  readonly kind: AdaptableKind;
  readonly outFeatures: number;
  readonly inFeatures: number;
  /** Kernel size (`[]` for linear layers). */
  readonly kernelSize: readonly number[];
  readonly groups: number;
  /**
   * The base weight's shape: `[out, in]`, `[out, in / groups, ...kernel]`, `[nx, nf]` (GPT-2 `Conv1D`) or
   * `[num_embeddings, embedding_dim]` (embedding).
   */
  readonly weightShape: readonly number[];
  /** Stride, padding, dilation, groups and padding mode of a conv base layer; `null` for linear. */
  readonly conv: ConvOptions | null;
}

/** Everything a variant hook needs to know about one adapter on one layer. */
export interface AdapterContext<C extends LycorisConfig = LycorisConfig> {
  readonly config: C;
  /** The rank for this module (after `rank_pattern`). */
  readonly r: number;
  /** The alpha for this module (after `alpha_pattern`). */
  readonly alpha: number;
  readonly layer: LayerGeometry;
}

/** The parameters a variant creates for one layer, in PEFT's attribute order. */
export interface ParameterLayout {
  readonly params: ReadonlyArray<readonly [name: string, shape: readonly number[]]>;
  /** Informational description of the factor structure (e.g. `{ w1: "full", w2: "lowrank" }`). */
  readonly structure?: Readonly<Record<string, string | boolean | readonly number[]>>;
}

/** Adapter parameters of one layer by parameter name (`lokr_w1`, `hada_w1_a`, ...). */
export type AdapterParams<A extends FloatArray = Float32Array> = Readonly<Record<string, Tensor<A>>>;

/** Options of {@link AdapterVariant.deltaWeightSvd}. */
export interface DeltaWeightSvdOptions {
  /**
   * `"structured"`: from the factors, never materialising ΔW; `"materialised"`: build ΔW and run a full SVD
   * (the reference); `"auto"` (default): whichever the variant estimates cheaper (materialising only pays for
   * tiny layers).
   */
  readonly path?: "auto" | "structured" | "materialised";
}

/**
 * A LyCORIS-style adapter type. A variant registers this object with an
 * {@link AdapterRegistry} and gets injection, merge/unmerge, multiple adapters,
 * train/eval, dropout and PEFT save/load from the runtime.
 *
 * Only `peftType`, `prefix`, `parameterNames`, `createConfig`, `parameterLayout`,
 * `initParameters` and `deltaWeight` are required. Without `forward`, the
 * runtime applies the materialised `deltaWeight`; without `backward`, training
 * goes through `deltaWeightBackward` (required for training in that case).
 *
 * The file tools (inspect, validate, merge, convert, the kohya / LyCORIS reader)
 * know a variant's tensors only through `describeParameters`, `layerCandidates`
 * and `kohya`; without them a variant still trains, merges, saves and loads.
 */
export interface AdapterVariant<C extends LycorisConfig = LycorisConfig> {
  /** PEFT's `peft_type` string, e.g. `"LOKR"`. */
  readonly peftType: string;
  /** The parameter-name prefix every parameter of this variant starts with, e.g. `"lokr_"`. */
  readonly prefix: string;
  /** Every parameter name the variant may create, in PEFT's attribute order (saved files follow it). */
  readonly parameterNames: readonly string[];
  /** Layer kinds this variant adapts (default: linear, conv1d, conv2d). */
  readonly supportedKinds?: readonly AdaptableKind[];
  /**
   * PEFT's per-layer checks and adjustments when it adds this adapter to a layer: throws (a typed error)
   * for a layer the variant cannot adapt, may adjust the config as PEFT does, and returns the warnings PEFT
   * prints. `existing` says the layer already carries other adapters (PEFT then skips its layer-creation
   * steps). Called for every target in injection order, before the model changes.
   */
  prepareLayer?(ctx: AdapterContext<C>, existing: boolean): readonly string[];
  /** The adapter's initial scaling (default `alpha / r`; LoRA's rsLoRA: `alpha / √r`). */
  scaling?(ctx: AdapterContext<C>): number;
  /**
   * Probability of the dropout applied in training to the input of the adapter path only (LoRA's
   * `lora_dropout`); default 0. Kept elements are scaled by `1 / (1 − p)`, as torch's `nn.Dropout`.
   */
  inputDropout?(ctx: AdapterContext<C>): number;
  /**
   * Builds the variant's config from camelCase options as parsed from `adapter_config.json`. Wrap the
   * constructor in `configFromFileOptions` (`@lycoris-ts/lycoris-config`) so that keys a newer PEFT wrote
   * are ignored with PEFT's warning instead of rejected, as PEFT's `from_peft_type` does.
   */
  createConfig(options: Readonly<Record<string, unknown>>): C;
  /** Names and shapes of the parameters for one layer. */
  parameterLayout(ctx: AdapterContext<C>): ParameterLayout;
  /** Initial parameter values for `config.initWeights`, drawn from `rng`. */
  initParameters(ctx: AdapterContext<C>, rng: Rng): Record<string, Tensor<Float32Array>>;
  /**
   * ΔW shaped like the base weight, scaling included. `out`, when given, is a caller's scratch buffer of
   * the parameters' array type holding at least ΔW's values (contents garbage): a variant may write ΔW
   * into its prefix and return a view of it, so a merge over many modules reuses one buffer. Callers
   * always use the returned tensor, so a variant that ignores `out` stays correct.
   */
  deltaWeight<A extends FloatArray>(
    params: AdapterParams<A>,
    ctx: AdapterContext<C>,
    scaling: number,
    out?: A,
  ): Tensor<A>;
  /** Gradients of every parameter from the gradient of ΔW (for training without a structured backward). */
  deltaWeightBackward?<A extends FloatArray>(
    params: AdapterParams<A>,
    ctx: AdapterContext<C>,
    scaling: number,
    dDelta: Tensor<A>,
  ): Record<string, Tensor<A>>;
  /**
   * The adapter's output contribution for input `x` without bias: `linear(x, ΔW)`
   * or `conv(x, ΔW)` with the base layer's geometry and zero padding, ideally
   * without materialising ΔW (or the variant's own term where PEFT's differs,
   * as LoRA's `lora_B(lora_A(x))` on a dilated conv).
   */
  forward?<A extends FloatArray>(
    x: Tensor<A>,
    params: AdapterParams<A>,
    ctx: AdapterContext<C>,
    scaling: number,
  ): Tensor<A>;
  /** Gradients w.r.t. `x` and every parameter, given the gradient of `forward`'s output. */
  backward?<A extends FloatArray>(
    x: Tensor<A>,
    params: AdapterParams<A>,
    ctx: AdapterContext<C>,
    scaling: number,
    dy: Tensor<A>,
  ): { dx: Tensor<A>; grads: Record<string, Tensor<A>> };
  /**
   * In-place `weight += ΔW` (`scaling < 0` unmerges); default: add `deltaWeight`. `scratch`, when given,
   * is a buffer of at least the weight's length (contents garbage) the hook may use for its temporaries
   * instead of fresh arrays; a hook that ignores it stays correct.
   */
  mergeInto?(
    weight: Tensor<Float32Array>,
    params: AdapterParams,
    ctx: AdapterContext<C>,
    scaling: number,
    scratch?: Float32Array,
  ): void;
  /**
   * The training-time rank-dropout keep mask over ΔW's output rows (already
   * rescaled where the variant rescales), or `null` for no dropout. Default: PEFT
   * LoKr semantics (`rand > p`, divided by the mean when `rankDropoutScale`).
   */
  rankDropoutMask?(ctx: AdapterContext<C>, rng: Rng): Float32Array | null;
  /**
   * Reads one module's parameter shapes (PEFT names) without a base model: the form of each
   * factor and the rank, or why the set is not a module of this variant (a missing tensor,
   * factors that do not fit each other). Used by `inspect` and the kohya / LyCORIS reader.
   */
  describeParameters?(shapes: ParameterShapes): ParameterStructure | ParameterProblem;
  /**
   * The base layers these parameter shapes could belong to (no base model): exactly one where the
   * factors fix the weight shape, every kernel split where they fold the kernel into a matrix
   * dimension (callers keep those for which `parameterLayout` gives exactly these shapes), none
   * when the shapes are not this variant's. Conv options are the defaults (see `geometryFromWeightShape`).
   * With the adapter's `config` (a PEFT adapter read against a base file), also the layer kinds only the
   * config tells apart (LoRA's GPT-2 `Conv1D` `[in, out]` beside the linear `[out, in]` of the same
   * factors), in the order the config prefers (callers take the first that fits the base weight).
   */
  layerCandidates?(shapes: ParameterShapes, config?: C): LayerGeometry[];
  /** How the variant's modules are stored in kohya / LyCORIS files; absent: such files cannot hold it. */
  readonly kohya?: KohyaFormat;

  // ── SVD of ΔW (LoRA conversion) ─────────────────────────────────────────────────────────────────────
  /**
   * The SVD of ΔW (scaling included, in `deltaWeight`'s layout) flattened to `[out, in/groups · ∏kernel]`
   * (for the input-major kinds `embedding` and `gpt2_conv1d`: ΔW transposed to `[out, in]`),
   * from the factors without materialising ΔW where the structure allows: all singular values at once, the
   * leading singular vectors on demand (`leading(k)`, float64). Converting to LoRA takes
   * `B = U_k·diag(S_k)`, `A = V_kᵀ` — the best rank-k approximation, what a full SVD of ΔW gives up to signs
   * and ties. Without this hook, converters materialise `deltaWeight` and run a full SVD
   * (`layerDeltaSvd` does either).
   */
  deltaWeightSvd?(
    params: AdapterParams<FloatArray>,
    ctx: AdapterContext<C>,
    scaling: number,
    opts?: DeltaWeightSvdOptions,
  ): LazySvd;

  // ── Extraction from a fine-tuned checkpoint ─────────────────────────────────────────────────────────
  /**
   * The adapter of this variant that best approximates a given ΔW (`tuned − base`, shaped like the base
   * weight) on `layer`, with the config options its parameters need, and the relative error it leaves.
   * Used by `extractAdapter` (`lycoris extract`); without it the variant cannot be extracted.
   */
  extractFromDelta?(
    delta: Tensor<Float32Array>,
    layer: LayerGeometry,
    options: DeltaExtractionOptions,
  ): DeltaExtraction;
}
