import { LycorisFormatError } from "../lycoris-format-error";
import { shapeText } from "../shape-text";
import type { BaseComponent, BaseFamily, RowSlice } from "./key-map-types";

/**
 * Base checkpoint tensor names with their shapes: a map, a record, or a list of `{ name, shape }`
 * (a safetensors header's `tensors`, e.g. from `parseSafetensorsHeader`).
 */
export type BaseTensorShapes =
  | ReadonlyMap<string, readonly number[]>
  | Readonly<Record<string, readonly number[]>>
  | readonly { readonly name: string; readonly shape: readonly number[] }[];

/** Where a ComfyUI key lives in the checkpoint: a tensor, or rows of it. */
export interface CheckpointSource {
  readonly tensor: string;
  readonly slice: RowSlice | null;
}

/** A base checkpoint seen as ComfyUI sees it after loading. */
export interface BaseCheckpoint {
  readonly family: BaseFamily;
  readonly components: readonly BaseComponent[];
  /** ComfyUI's state-dict key → its place in the checkpoint. */
  readonly comfyKeys: ReadonlyMap<string, CheckpointSource>;
  /** The checkpoint's shapes. */
  readonly shapes: ReadonlyMap<string, readonly number[]>;
}

const LDM_UNET_ROOTS = ["input_blocks", "middle_block", "output_blocks", "time_embed", "label_emb", "out"];
const FLUX_ROOTS = [
  "double_blocks",
  "single_blocks",
  "img_in",
  "txt_in",
  "time_in",
  "vector_in",
  "guidance_in",
  "final_layer",
];
const DIFFUSION_PREFIXES = ["model.diffusion_model.", "diffusion_model.", ""];
/** CLIP-L in SD1.x and SDXL single files (transformers names; ComfyUI renames the prefix only). */
const CLIP_L_PREFIXES = [
  "cond_stage_model.transformer.text_model.",
  "conditioner.embedders.0.transformer.text_model.",
];
/** OpenCLIP bigG in SDXL (and the refiner's only text encoder); ComfyUI converts its names. */
const CLIP_G_PREFIXES = ["conditioner.embedders.1.model.", "conditioner.embedders.0.model."];
const CLIP_L_TO = "clip_l.transformer.text_model.";
const CLIP_G_TO = "clip_g.transformer.text_model.";
/** OpenCLIP resblock parts → transformers names (ComfyUI's `transformers_convert`, 32 blocks at most). */
const RESBLOCK_NAMES: Readonly<Record<string, string>> = {
  ln_1: "layer_norm1",
  ln_2: "layer_norm2",
  "mlp.c_fc": "mlp.fc1",
  "mlp.c_proj": "mlp.fc2",
  "attn.out_proj": "self_attn.out_proj",
};
const OPEN_CLIP_MAX_BLOCKS = 32;

/** The base tensors' shapes by name, whichever form they were given in. */
export function shapeMap(base: BaseTensorShapes): Map<string, readonly number[]> {
  if (base instanceof Map) return new Map(base);
  if (Array.isArray(base)) return new Map(base.map((t) => [t.name, t.shape] as const));
  return new Map(Object.entries(base as Readonly<Record<string, readonly number[]>>));
}

function rootOf(name: string, prefix: string): string | null {
  if (!name.startsWith(prefix)) return null;
  const rest = name.slice(prefix.length);
  return rest.split(".")[0] ?? null;
}

/** Adds `diffusion_model.<path>` for every tensor under the first prefix whose tensors have `roots`. */
function addDiffusionModel(
  names: readonly string[],
  roots: readonly string[],
  out: Map<string, CheckpointSource>,
): boolean {
  for (const prefix of DIFFUSION_PREFIXES) {
    const own = names.filter((n) => {
      const root = rootOf(n, prefix);
      return root !== null && roots.includes(root);
    });
    if (own.some((n) => rootOf(n, prefix) === roots[0] || rootOf(n, prefix) === roots[1])) {
      for (const n of own) out.set(`diffusion_model.${n.slice(prefix.length)}`, { tensor: n, slice: null });
      return true;
    }
  }
  return false;
}

function addClipL(names: readonly string[], out: Map<string, CheckpointSource>): boolean {
  const prefix = CLIP_L_PREFIXES.find((p) => names.some((n) => n.startsWith(p)));
  if (prefix === undefined) return false;
  for (const n of names) {
    if (n.startsWith(prefix)) out.set(CLIP_L_TO + n.slice(prefix.length), { tensor: n, slice: null });
  }
  return true;
}

function inProjRows(tensor: string, shapes: ReadonlyMap<string, readonly number[]>): number {
  const shape = shapes.get(tensor) ?? [];
  const rows = shape[0];
  if (rows === undefined || rows % 3 !== 0) {
    throw new LycorisFormatError(
      "shape_mismatch",
      tensor,
      `base tensor '${tensor}' has shape ${shapeText(shape)}: a fused q/k/v projection needs 3·width rows`,
    );
  }
  return rows / 3;
}

/** OpenCLIP names → ComfyUI's `clip_g.transformer.text_model.*`, splitting `in_proj_*` into q/k/v rows. */
function addClipG(
  names: readonly string[],
  shapes: ReadonlyMap<string, readonly number[]>,
  takenPrefixes: ReadonlySet<string>,
  out: Map<string, CheckpointSource>,
): boolean {
  const prefix = CLIP_G_PREFIXES.find(
    (p) => names.some((n) => n.startsWith(`${p}transformer.resblocks.`)) && !takenPrefixes.has(p),
  );
  if (prefix === undefined) return false;
  const put = (to: string, tensor: string, slice: RowSlice | null = null): void => {
    out.set(CLIP_G_TO + to, { tensor, slice });
  };
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const rest = n.slice(prefix.length);
    if (rest === "positional_embedding") put("embeddings.position_embedding.weight", n);
    else if (rest === "token_embedding.weight") put("embeddings.token_embedding.weight", n);
    else if (rest === "ln_final.weight" || rest === "ln_final.bias") {
      put(`final_layer_norm.${rest.slice("ln_final.".length)}`, n);
    }
    const m = /^transformer\.resblocks\.(\d+)\.(.+)\.(weight|bias)$/.exec(rest);
    const inProj = /^transformer\.resblocks\.(\d+)\.attn\.in_proj_(weight|bias)$/.exec(rest);
    if (inProj !== null && Number(inProj[1]) < OPEN_CLIP_MAX_BLOCKS) {
      const width = inProjRows(n, shapes);
      ["q_proj", "k_proj", "v_proj"].forEach((p, i) => {
        put(`encoder.layers.${inProj[1]}.self_attn.${p}.${inProj[2]}`, n, {
          dim: 0,
          start: i * width,
          size: width,
        });
      });
    } else if (m !== null && Number(m[1]) < OPEN_CLIP_MAX_BLOCKS) {
      const to = RESBLOCK_NAMES[m[2]!];
      if (to !== undefined) put(`encoder.layers.${m[1]}.${to}.${m[3]}`, n);
    }
  }
  return true;
}

/**
 * Recognises an SD1.x, SDXL or Flux checkpoint from its tensor names and lists every tensor under
 * the key ComfyUI gives it after loading: the UNet / Flux transformer as `diffusion_model.<path>` (any
 * of the prefixes `model.diffusion_model.`, `diffusion_model.` or none), CLIP-L as
 * `clip_l.transformer.text_model.*`, OpenCLIP bigG converted to `clip_g.transformer.text_model.*`
 * (its fused `attn.in_proj_weight` / `in_proj_bias` split into q/k/v row slices).
 *
 * @throws LycorisFormatError `unmatched_key` when no part of the checkpoint is recognised;
 *   `shape_mismatch` when a fused `in_proj` tensor has no 3·width rows.
 */
export function readBaseCheckpoint(base: BaseTensorShapes): BaseCheckpoint {
  const shapes = shapeMap(base);
  const names = [...shapes.keys()];
  const comfyKeys = new Map<string, CheckpointSource>();
  const components: BaseComponent[] = [];
  if (addDiffusionModel(names, FLUX_ROOTS, comfyKeys)) components.push("flux");
  else if (addDiffusionModel(names, LDM_UNET_ROOTS, comfyKeys)) components.push("unet");
  const clipL = addClipL(names, comfyKeys);
  if (clipL) components.push("clip_l");
  // With CLIP-L in embedders.0 (SDXL base) only embedders.1 can hold bigG.
  const taken = new Set(clipL ? ["conditioner.embedders.0.model."] : []);
  if (addClipG(names, shapes, taken, comfyKeys)) components.push("clip_g");
  if (components.length === 0) {
    const sample = names.slice(0, 3).join(", ");
    throw new LycorisFormatError(
      "unmatched_key",
      "",
      `base checkpoint not recognised: expected SD1.x / SDXL (model.diffusion_model.input_blocks.*, cond_stage_model.*, conditioner.embedders.*) or Flux (double_blocks.*, single_blocks.*) tensor names; given ${names.length} tensors (${sample}${names.length > 3 ? ", ..." : ""})`,
    );
  }
  const sdxl =
    components.includes("clip_g") ||
    [...comfyKeys.keys()].some((k) => k.startsWith("diffusion_model.label_emb."));
  const family: BaseFamily = components.includes("flux") ? "flux" : sdxl ? "sdxl" : "sd15";
  return { family, components, comfyKeys, shapes };
}

/**
 * The family of a base checkpoint whose names the key map understands (SD1.x, SDXL, Flux), or
 * `null` for any other model (whose adapters name its modules directly).
 *
 * @throws LycorisFormatError `shape_mismatch` for a recognised checkpoint with a malformed fused tensor.
 */
export function baseCheckpointFamily(base: BaseTensorShapes): BaseFamily | null {
  try {
    return readBaseCheckpoint(base).family;
  } catch (error) {
    if (error instanceof LycorisFormatError && error.kind === "unmatched_key") return null;
    throw error;
  }
}
