import type { Tensor } from "@lycoris-ts/kernels";
import type { AdapterPatchKind } from "../key-map/key-map-types";
import type { LycorisModule } from "../lycoris-module";

/**
 * ComfyUI's LoRA / LoCon patch (`LoRAAdapter`), in whichever names the producer wrote it:
 * `ΔW = scale · up · down` reshaped to the target, or with kohya's Tucker core
 * `ΔW[o, n, …] = scale · Σ up[o, i] · mid[i, j, …] · down[j, n]`.
 */
export interface LoraLoaderPatch {
  readonly form: "lora";
  readonly up: Tensor<Float32Array>;
  readonly down: Tensor<Float32Array>;
  readonly mid: Tensor<Float32Array> | null;
  /** `down`'s rows, what the loaders divide `alpha` by. */
  readonly rank: number;
  readonly alpha: number | null;
  /** `alpha / rank`, 1 without alpha. */
  readonly scale: number;
  readonly doraScale: Tensor<Float32Array> | null;
}

/** A registered variant's module (LoKr, LoHa, ...): ΔW from the variant's `deltaWeight`, scale and DoRA in the module. */
export interface VariantLoaderPatch {
  readonly form: "variant";
  readonly module: LycorisModule;
}

/** A full difference added as is (`.diff`, and the norm replacement `w_norm`, which ComfyUI loads as a diff). */
export interface DiffLoaderPatch {
  readonly form: "diff";
  readonly diff: Tensor<Float32Array>;
}

/** What one adapter module adds to its target weight. */
export type LoaderWeightPatch = LoraLoaderPatch | VariantLoaderPatch | DiffLoaderPatch;

/**
 * One adapter module key read as ComfyUI's loader reads it: the patch of the layer's weight and the
 * full difference of its bias (`diff_b`, `b_norm`).
 */
export interface LoaderPatch {
  /** The adapter module key (`lora_unet_…`, `transformer.…`). */
  readonly moduleKey: string;
  /** The loaders' kind (`lora`, `diff`) or the variant's kohya algo. */
  readonly kind: AdapterPatchKind;
  /** The weight patch, or `null` when the module patches only the bias. */
  readonly weight: LoaderWeightPatch | null;
  /** The bias difference, or `null`. */
  readonly bias: Tensor<Float32Array> | null;
}
