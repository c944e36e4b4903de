import type { Tensor } from "@lycoris-ts/kernels";
import type { LycorisConfig } from "@lycoris-ts/lycoris-config";
import type { AdapterVariant } from "@lycoris-ts/runtime";

/** The algorithm of a module: the `peft_type` of the registered variant that holds it. */
export type LycorisAlgo = string;

/**
 * Factor structure of one module, decided from tensor names and shapes alone: the algorithm and the
 * variant's structure flags (`describeParameters(...).flags`, e.g. LoKr's `w1` / `w2` forms).
 */
export type LycorisStructure = { readonly algo: LycorisAlgo } & Readonly<Record<string, string | boolean>>;

/** One adapted module of a kohya / LyCORIS-format file, resolved to the model. */
export interface LycorisModule {
  /** The module path in the model (`unet.down_blocks.0.attentions.0.proj_in`). */
  readonly moduleName: string;
  /** The file's module key (`lora_unet_down_blocks_0_attentions_0_proj_in`). */
  readonly fileKey: string;
  /** The file prefix that matched (`lora_unet`, `lora_te1`, `lycoris`, ...). */
  readonly prefix: string;
  readonly algo: LycorisAlgo;
  readonly structure: LycorisStructure;
  /** The registry variant that holds the module and rebuilds ΔW (`registry.get(algo)`). */
  readonly variant: AdapterVariant<LycorisConfig>;
  /** Factors under the variant's PEFT parameter names and layouts, float32 row-major. */
  readonly params: Readonly<Record<string, Tensor<Float32Array>>>;
  /** The rank as the kohya loaders infer it (the variant's `describeParameters`); `null` when every factor is full. */
  readonly rank: number | null;
  /** The stored `alpha`, or `null` when the file has none for this module. */
  readonly alpha: number | null;
  /** The loaders' factor at strength 1: `alpha / rank`, 1 without alpha or without rank. */
  readonly scale: number;
  /** The DoRA magnitude (`(out, 1, …)` output axis or `(1, in, …)` input axis), or `null`. */
  readonly doraScale: Tensor<Float32Array> | null;
}

/** A kohya / LyCORIS-format adapter file read against a model. */
export interface LycorisAdapter {
  /** Adapted modules, in file order. */
  readonly modules: readonly LycorisModule[];
  /** File prefix → sub-model root path used to resolve the keys. */
  readonly prefixes: Readonly<Record<string, string>>;
  /** The file's `__metadata__`, or `null`. */
  readonly metadata: Readonly<Record<string, string>> | null;
}
