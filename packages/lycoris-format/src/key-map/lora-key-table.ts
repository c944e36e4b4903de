import type { BaseCheckpoint } from "./base-checkpoint";
import { fluxDiffusersNames, fluxHiddenSize } from "./flux-names";
import type { AdapterLayout, RowSlice, WeightFunction } from "./key-map-types";
import { ldmUnetDiffusersNames } from "./ldm-unet-names";

/** A ComfyUI patch target: a state-dict key, optionally rows of it and a function on ΔW. */
export interface ComfyTarget {
  readonly key: string;
  readonly offset: RowSlice | null;
  readonly function: WeightFunction | null;
  /** ComfyUI keeps sliced / function targets as tuples; their bias key degenerates to `"().bias"`. */
  readonly tuple: boolean;
}

/** Adapter module key prefixes and the layout each stands for (`""`: no prefix). */
const PREFIX_LAYOUTS: readonly (readonly [string, AdapterLayout])[] = [
  ["lora_unet_", "kohya"],
  ["lora_te1_", "kohya"],
  ["lora_te2_", "kohya"],
  ["lora_te_", "kohya"],
  ["lycoris_", "lycoris"],
  ["lora_transformer_", "onetrainer"],
  ["diffusion_model.", "comfy"],
  ["text_encoders.", "comfy"],
  ["unet.", "diffusers"],
  ["transformer.", "diffusers"],
  ["text_encoder.", "diffusers"],
  ["text_encoder_2.", "diffusers"],
  ["base_model.model.", "peft"],
];

/** The prefix of an adapter module key (`""` when it has none) and the producer layout it stands for. */
export function keyLayout(key: string): { readonly prefix: string; readonly layout: AdapterLayout } {
  const hit = PREFIX_LAYOUTS.find(([p]) => key.startsWith(p));
  const prefix = hit?.[0] ?? "";
  let layout = hit?.[1] ?? "none";
  if ((layout === "none" || prefix === "unet.") && key.includes(".processor."))
    layout = "diffusers-attn-procs";
  return { prefix, layout };
}

/** kohya's LoRA names for CLIP encoder layers: transformers name → `_` name. */
const CLIP_LAYER_PARTS = [
  "mlp.fc1",
  "mlp.fc2",
  "self_attn.k_proj",
  "self_attn.q_proj",
  "self_attn.v_proj",
  "self_attn.out_proj",
];
const CLIP_MAX_LAYERS = 32;

const underscored = (path: string): string => path.replace(/\./g, "_");

function whole(key: string): ComfyTarget {
  return { key, offset: null, function: null, tuple: false };
}

/**
 * Every adapter module key ComfyUI's loader accepts for this checkpoint (`model_lora_keys_unet`,
 * then `model_lora_keys_clip`; a later entry replaces an earlier one), mapped to its patch target.
 * Two additions ComfyUI lacks, added only where no ComfyUI key is taken: the UNet / Flux module
 * names without any prefix (`single_blocks.0.linear1`), a producer layout in the wild.
 */
export function buildLoraKeyTable(base: BaseCheckpoint): Map<string, ComfyTarget> {
  const table = new Map<string, ComfyTarget>();
  const unetKeys = [...base.comfyKeys.keys()].filter((k) => k.startsWith("diffusion_model."));
  const strip = (k: string): string => k.slice("diffusion_model.".length);
  for (const k of unetKeys) {
    if (k.endsWith(".weight")) {
      const path = strip(k).slice(0, -".weight".length);
      table.set(`lora_unet_${underscored(path)}`, whole(k));
      table.set(`diffusion_model.${path}`, whole(k));
    } else {
      table.set(k, whole(k));
    }
  }
  if (base.components.includes("unet")) {
    for (const [d, ldm] of ldmUnetDiffusersNames(unetKeys.map(strip))) {
      const target = whole(`diffusion_model.${ldm}.weight`);
      table.set(`lora_unet_${underscored(d)}`, target);
      table.set(`lycoris_${underscored(d)}`, target);
      let processor = d.replaceAll(".to_", ".processor.to_");
      if (processor.endsWith(".to_out.0")) processor = processor.slice(0, -".0".length);
      table.set(processor, target);
      table.set(`unet.${processor}`, target);
    }
  }
  if (base.components.includes("flux")) {
    const shapeOf = (path: string): readonly number[] | undefined => {
      const source = base.comfyKeys.get(`diffusion_model.${path}`);
      return source === undefined ? undefined : base.shapes.get(source.tensor);
    };
    for (const [d, t] of fluxDiffusersNames(unetKeys.map(strip), shapeOf)) {
      const target: ComfyTarget = {
        key: `diffusion_model.${t.path}.weight`,
        offset: t.offset,
        function: t.function,
        tuple: t.tuple,
      };
      table.set(`transformer.${d}`, target);
      table.set(`lycoris_${underscored(d)}`, target);
      table.set(`lora_transformer_${underscored(d)}`, target);
      table.set(d, target);
    }
    const h = fluxHiddenSize(shapeOf);
    for (const k of unetKeys) {
      if (k.endsWith(".weight") && k.includes(".linear1.")) {
        table.set(k.replace(".linear1.weight", ".linear1_qkv"), {
          key: k,
          offset: { dim: 0, start: 0, size: 3 * h },
          function: null,
          tuple: true,
        });
      }
    }
  }
  addClipKeys(base, table);
  for (const k of unetKeys) {
    if (!k.endsWith(".weight")) continue;
    const bare = strip(k).slice(0, -".weight".length);
    if (!table.has(bare)) table.set(bare, whole(k));
  }
  return table;
}

function addClipKeys(base: BaseCheckpoint, table: Map<string, ComfyTarget>): void {
  for (const k of base.comfyKeys.keys()) {
    if (k.startsWith("clip_") && k.endsWith(".weight")) {
      table.set(`text_encoders.${k.slice(0, -".weight".length)}`, whole(k));
    }
  }
  const clipL = base.components.includes("clip_l");
  for (let b = 0; b < CLIP_MAX_LAYERS; b++) {
    for (const c of CLIP_LAYER_PARTS) {
      const kohya = `text_model_encoder_layers_${b}_${underscored(c)}`;
      const diffusers = `text_model.encoder.layers.${b}.${c}`;
      const l = `clip_l.transformer.text_model.encoder.layers.${b}.${c}.weight`;
      if (base.comfyKeys.has(l)) {
        table.set(`lora_te_${kohya}`, whole(l));
        table.set(`lora_te1_${kohya}`, whole(l));
        table.set(`text_encoder.${diffusers}`, whole(l));
      }
      const g = `clip_g.transformer.text_model.encoder.layers.${b}.${c}.weight`;
      if (base.comfyKeys.has(g)) {
        table.set(clipL ? `lora_te2_${kohya}` : `lora_te_${kohya}`, whole(g));
        table.set(clipL ? `text_encoder_2.${diffusers}` : `text_encoder.${diffusers}`, whole(g));
      }
    }
  }
}
