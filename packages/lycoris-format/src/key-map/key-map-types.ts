/** Rows `[start, start + size)` along `dim` of a tensor (`tensor.narrow(dim, start, size)`). */
export interface RowSlice {
  readonly dim: number;
  readonly start: number;
  readonly size: number;
}

/**
 * A function applied to ΔW before it is added (ComfyUI's patch `function`). `swap_scale_shift`
 * exchanges the two row halves: diffusers stores Flux's final modulation as (scale, shift), the
 * checkpoint as (shift, scale).
 */
export type WeightFunction = "swap_scale_shift";

/** Base model families whose checkpoints the key map understands. */
export type BaseFamily = "sd15" | "sdxl" | "flux";

/**
 * The base a key map was made for: an SD1.x / SDXL / Flux checkpoint (ComfyUI's key map), or
 * `generic`, any other model, whose adapter keys name its modules directly (kohya prefixes or
 * dotted module paths, resolved as merge and validate resolve them).
 */
export type KeyMapFamily = BaseFamily | "generic";

/**
 * Parts of a base checkpoint, named as ComfyUI names them: the LDM UNet (`diffusion_model.`), the
 * Flux transformer (`diffusion_model.`), CLIP-L (`clip_l.`) and OpenCLIP bigG (`clip_g.`).
 */
export type BaseComponent = "unet" | "flux" | "clip_l" | "clip_g";

/**
 * The producer layout of an adapter module key, from its prefix: kohya sd-scripts / LyCORIS-kohya
 * (`lora_unet_`, `lora_te_`, `lora_te1_`, `lora_te2_`), the LyCORIS wrapper / SimpleTuner (`lycoris_`),
 * OneTrainer (`lora_transformer_`), ComfyUI / ai-toolkit native names (`diffusion_model.`,
 * `text_encoders.`), diffusers (`unet.`, `transformer.`, `text_encoder.`, `text_encoder_2.`), legacy
 * diffusers attention processors (`….processor.to_q`), PEFT names in one file (`base_model.model.`),
 * or no prefix.
 */
export type AdapterLayout =
  | "kohya"
  | "lycoris"
  | "onetrainer"
  | "comfy"
  | "diffusers"
  | "diffusers-attn-procs"
  | "peft"
  | "none";

/**
 * The patch a module's tensors make, as ComfyUI's loader classifies it: the loaders' own kinds
 * `lora`, `glora`, `oft`, `diff` (`w_norm` is a `diff`) and `set`, or a registered variant's kohya
 * `algo` (`lokr`, `loha`).
 */
export type AdapterPatchKind = string;

/** One base parameter an adapter module patches. */
export interface KeyMapTarget {
  /** The module's weight, or its bias (`diff_b`, `b_norm`). */
  readonly part: "weight" | "bias";
  /**
   * ComfyUI's key for the patch (`diffusion_model.input_blocks.1.1.proj_in.weight`,
   * `clip_g.transformer.text_model.encoder.layers.0.self_attn.q_proj.weight`); `"().bias"` for the
   * bias of a sliced or function target, which ComfyUI builds from a tuple and never applies. On a
   * `generic` model, the base tensor name itself (`<module>.weight`, `<module>.bias`).
   */
  readonly comfyKey: string;
  /** ComfyUI's own row slice of `comfyKey` (Flux q/k/v and `proj_mlp` in fused weights), or `null`. */
  readonly comfyOffset: RowSlice | null;
  /** A function applied to ΔW before it is added, or `null`. */
  readonly function: WeightFunction | null;
  /** The base checkpoint tensor patched; `null` when `comfyKey` is not in the checkpoint. */
  readonly tensor: string | null;
  /**
   * The rows of `tensor` patched (ComfyUI's offset composed with the checkpoint conversion's split,
   * e.g. SDXL te2 `in_proj_weight` → q/k/v), or `null` for the whole tensor.
   */
  readonly slice: RowSlice | null;
  /** Whether the patch reaches the checkpoint (`tensor !== null`). */
  readonly applied: boolean;
}

/**
 * What became of an adapter module key: `placed` (at least one target is applied), `not_applied`
 * (mapped, but no target is in the checkpoint: "mapped but never applied"), `no_such_module` (its
 * layout is known, but it names no module of this checkpoint), `unknown_layout` (a key form the
 * loaders do not read), `ambiguous` (`generic` models only: the key names several modules, or a
 * module another key of the file already named).
 */
export type KeyMapStatus = "placed" | "not_applied" | "no_such_module" | "unknown_layout" | "ambiguous";

/** A base module the adapter key may have meant, best first. */
export interface ClosestBaseName {
  /** The key that would place it, in the adapter key's own layout. */
  readonly key: string;
  /** The checkpoint tensor it patches. */
  readonly tensor: string;
  /** The rows of `tensor` it patches, or `null` for the whole tensor. */
  readonly slice: RowSlice | null;
}

/** One adapter module key and where it goes. */
export interface KeyMapEntry {
  /** The module key: the tensor names' common part before the tensor suffix. */
  readonly moduleKey: string;
  /** The producer layout, from the key's prefix; `null` when no tensor has a known suffix. */
  readonly layout: AdapterLayout | null;
  /** The patch the tensors make; `null` when there is none (no weight-bearing tensor). */
  readonly kind: AdapterPatchKind | null;
  /** Every adapter tensor of this module key, in file order. */
  readonly tensors: readonly string[];
  /** Tensors of a mapped module that the loaders do not read (PEFT `lora_magnitude_vector`, ...). */
  readonly unread: readonly string[];
  readonly status: KeyMapStatus;
  /** The patched base parameters (weight, then bias); empty unless `placed` or `not_applied`. */
  readonly targets: readonly KeyMapTarget[];
  /** Why the key, a target or a tensor is not applied; `null` when everything is. */
  readonly message: string | null;
  /** For `no_such_module` / `unknown_layout`: the nearest base modules, best first (the `layout`'s keys). */
  readonly closest: readonly ClosestBaseName[];
}

/** Every adapter key of a file placed onto a base checkpoint, or reported. */
export interface AdapterKeyMap {
  readonly family: KeyMapFamily;
  /** The checkpoint's recognised parts; empty for a `generic` model. */
  readonly components: readonly BaseComponent[];
  /** One entry per adapter module key, in file order. */
  readonly entries: readonly KeyMapEntry[];
  /** Adapter tensors the loaders do not read ("lora key not loaded"), in file order. */
  readonly notLoaded: readonly string[];
  /** Targets that are mapped but not in the checkpoint ("mapped but never applied"). */
  readonly notApplied: readonly KeyMapTarget[];
}
