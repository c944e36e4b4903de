import type { ConvOptions, FloatArray, Tensor } from "@lycoris-ts/kernels";

/** The base-layer kinds LoRA adapts (PEFT: Linear, Conv1d, Conv2d, Embedding, transformers' GPT-2 `Conv1D`). */
export type LoraLayerKind = "linear" | "gpt2_conv1d" | "conv1d" | "conv2d" | "embedding";

/**
 * The base layer a LoRA adapter is attached to, in PEFT's terms (`in_features` / `out_features` of the
 * `LoraLayer`): unlike LoKr/LoHa, a convolution's `inFeatures` is **all** its input channels (`lora_A` is a
 * dense conv), not `in_channels / groups`.
 */
export interface LoraLayerShape {
  readonly kind: LoraLayerKind;
  /** `out_features`, `out_channels`, `nf` (GPT-2 `Conv1D`) or `embedding_dim`. */
  readonly outFeatures: number;
  /** `in_features`, `in_channels`, `nx` (GPT-2 `Conv1D`) or `num_embeddings`. */
  readonly inFeatures: number;
  /** Kernel size (`[]` for linear, GPT-2 `Conv1D` and embedding). */
  readonly kernelSize: readonly number[];
  /** Convolution groups (1 for the other kinds). */
  readonly groups: number;
}

/** The base convolution's hyper-parameters (stride, padding, dilation, groups, padding mode). */
export type LoraConvGeometry = ConvOptions;

/** `init_lora_weights`: `true`, `false`, `"gaussian"` (any case), or another string PEFT rejects at injection. */
export type LoraInitWeights = boolean | "gaussian" | (string & {});

/** LoRA parameters of one layer by PEFT's names (`lora_A.weight`, `lora_B.weight` or `lora_embedding_A`/`_B`). */
export type LoraParams<A extends FloatArray = Float32Array> = Readonly<Record<string, Tensor<A>>>;
