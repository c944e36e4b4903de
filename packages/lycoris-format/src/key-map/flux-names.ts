import { LycorisFormatError } from "../lycoris-format-error";
import type { RowSlice, WeightFunction } from "./key-map-types";

/** A Flux (BFL) weight a diffusers name maps to: the weight (no `.weight`), rows of it, a function. */
export interface FluxTarget {
  readonly path: string;
  readonly offset: RowSlice | null;
  readonly function: WeightFunction | null;
  /** ComfyUI stores sliced and function targets as tuples (their bias key is lost, see FORMAT). */
  readonly tuple: boolean;
}

const DOUBLE_BLOCK: readonly (readonly [string, string])[] = [
  ["attn.to_out.0", "img_attn.proj"],
  ["norm1.linear", "img_mod.lin"],
  ["norm1_context.linear", "txt_mod.lin"],
  ["attn.to_add_out", "txt_attn.proj"],
  ["ff.net.0.proj", "img_mlp.0"],
  ["ff.net.2", "img_mlp.2"],
  ["ff_context.net.0.proj", "txt_mlp.0"],
  ["ff_context.net.2", "txt_mlp.2"],
  ["attn.norm_q", "img_attn.norm.query_norm"],
  ["attn.norm_k", "img_attn.norm.key_norm"],
  ["attn.norm_added_q", "txt_attn.norm.query_norm"],
  ["attn.norm_added_k", "txt_attn.norm.key_norm"],
];
const SINGLE_BLOCK: readonly (readonly [string, string])[] = [
  ["norm.linear", "modulation.lin"],
  ["proj_out", "linear2"],
  ["attn.norm_q", "norm.query_norm"],
  ["attn.norm_k", "norm.key_norm"],
];
const BASIC: readonly (readonly [string, string])[] = [
  ["proj_out", "final_layer.linear"],
  ["x_embedder", "img_in"],
  ["time_text_embed.timestep_embedder.linear_1", "time_in.in_layer"],
  ["time_text_embed.timestep_embedder.linear_2", "time_in.out_layer"],
  ["context_embedder", "txt_in"],
  ["time_text_embed.text_embedder.linear_1", "vector_in.in_layer"],
  ["time_text_embed.text_embedder.linear_2", "vector_in.out_layer"],
  ["time_text_embed.guidance_embedder.linear_1", "guidance_in.in_layer"],
  ["time_text_embed.guidance_embedder.linear_2", "guidance_in.out_layer"],
  ["controlnet_x_embedder", "pos_embed_input"],
];

function plain(path: string): FluxTarget {
  return { path, offset: null, function: null, tuple: false };
}

function rows(path: string, start: number, size: number): FluxTarget {
  return { path, offset: { dim: 0, start, size }, function: null, tuple: true };
}

function blockCount(paths: ReadonlySet<string>, name: string): number {
  let n = 0;
  while (paths.has(`${name}.${n}`)) n++;
  return n;
}

/** Flux's width: `img_in` rows, else `img_attn.proj` rows, else a third of `img_attn.qkv` rows. */
export function fluxHiddenSize(shapeOf: (path: string) => readonly number[] | undefined): number {
  const direct = shapeOf("img_in.weight")?.[0] ?? shapeOf("double_blocks.0.img_attn.proj.weight")?.[0];
  if (direct !== undefined) return direct;
  const qkv = shapeOf("double_blocks.0.img_attn.qkv.weight")?.[0];
  if (qkv !== undefined && qkv % 3 === 0) return qkv / 3;
  throw new LycorisFormatError(
    "shape_mismatch",
    "img_in",
    "Flux checkpoint: cannot read the hidden size (expected img_in.weight, double_blocks.0.img_attn.proj.weight or a 3·width double_blocks.0.img_attn.qkv.weight)",
  );
}

/**
 * Diffusers Flux names (without `.weight`) → BFL weights, as ComfyUI's `flux_to_diffusers` builds
 * them: `attn.to_q/k/v` → rows `[0,h)`, `[h,2h)`, `[2h,3h)` of the fused `img_attn.qkv` (double
 * blocks; `add_q/k/v_proj` → `txt_attn.qkv`) or of `linear1` (single blocks), `proj_mlp` → the rows
 * after `3h` of `linear1`, `norm_out.linear` → `final_layer.adaLN_modulation.1` with
 * `swap_scale_shift`. ComfyUI hard-codes the MLP rows as `4h`; here they are `linear1` rows − 3h,
 * the same for Flux.1 (mlp_ratio 4). `paths` are the transformer's tensor names without prefix.
 *
 * @throws LycorisFormatError `shape_mismatch` when the width cannot be read from the shapes.
 */
export function fluxDiffusersNames(
  paths: readonly string[],
  shapeOf: (path: string) => readonly number[] | undefined,
): [diffusers: string, target: FluxTarget][] {
  const blocks = new Set<string>();
  for (const p of paths) {
    const parts = p.split(".");
    if (parts.length > 1) blocks.add(`${parts[0]}.${parts[1]}`);
  }
  const h = fluxHiddenSize(shapeOf);
  const out: [string, FluxTarget][] = [];
  const doubles = blockCount(blocks, "double_blocks");
  for (let i = 0; i < doubles; i++) {
    const from = `transformer_blocks.${i}`;
    const to = `double_blocks.${i}`;
    ["to_q", "to_k", "to_v"].forEach((p, j) => {
      out.push([`${from}.attn.${p}`, rows(`${to}.img_attn.qkv`, j * h, h)]);
    });
    ["add_q_proj", "add_k_proj", "add_v_proj"].forEach((p, j) => {
      out.push([`${from}.attn.${p}`, rows(`${to}.txt_attn.qkv`, j * h, h)]);
    });
    for (const [d, b] of DOUBLE_BLOCK) out.push([`${from}.${d}`, plain(`${to}.${b}`)]);
  }
  const singles = blockCount(blocks, "single_blocks");
  for (let i = 0; i < singles; i++) {
    const from = `single_transformer_blocks.${i}`;
    const to = `single_blocks.${i}`;
    ["to_q", "to_k", "to_v"].forEach((p, j) => {
      out.push([`${from}.attn.${p}`, rows(`${to}.linear1`, j * h, h)]);
    });
    const linear1 = shapeOf(`${to}.linear1.weight`)?.[0];
    out.push([
      `${from}.proj_mlp`,
      rows(`${to}.linear1`, 3 * h, linear1 === undefined ? 4 * h : linear1 - 3 * h),
    ]);
    for (const [d, b] of SINGLE_BLOCK) out.push([`${from}.${d}`, plain(`${to}.${b}`)]);
  }
  for (const [d, b] of BASIC) out.push([d, plain(b)]);
  out.push([
    "norm_out.linear",
    { path: "final_layer.adaLN_modulation.1", offset: null, function: "swap_scale_shift", tuple: true },
  ]);
  return out;
}
