/** Attention (spatial transformer) weights, same name in both layouts. */
const ATTENTION = ["proj_in", "proj_out", "norm"];
/** Transformer block weights, same name in both layouts. */
const TRANSFORMER_BLOCK = [
  "norm1",
  "norm2",
  "norm3",
  "attn1.to_q",
  "attn1.to_k",
  "attn1.to_v",
  "attn1.to_out.0",
  "attn2.to_q",
  "attn2.to_k",
  "attn2.to_v",
  "attn2.to_out.0",
  "ff.net.0.proj",
  "ff.net.2",
];
/** ResNet block weights: LDM name → diffusers name. */
const RESNET: readonly (readonly [string, string])[] = [
  ["in_layers.2", "conv1"],
  ["emb_layers.1", "time_emb_proj"],
  ["out_layers.3", "conv2"],
  ["skip_connection", "conv_shortcut"],
  ["in_layers.0", "norm1"],
  ["out_layers.0", "norm2"],
];
/** Top-level weights: LDM name → diffusers name (SDXL's `label_emb` has two diffusers names). */
const BASIC: readonly (readonly [string, string])[] = [
  ["label_emb.0.0", "class_embedding.linear_1"],
  ["label_emb.0.2", "class_embedding.linear_2"],
  ["label_emb.0.0", "add_embedding.linear_1"],
  ["label_emb.0.2", "add_embedding.linear_2"],
  ["input_blocks.0.0", "conv_in"],
  ["out.0", "conv_norm_out"],
  ["out.2", "conv_out"],
  ["time_embed.0", "time_embedding.linear_1"],
  ["time_embed.2", "time_embedding.linear_2"],
];

/** The block structure of an LDM UNet, read from its tensor names (what ComfyUI's detection finds). */
interface UnetStructure {
  /** ResNet blocks per resolution level. */
  readonly resBlocks: readonly number[];
  /** Transformer depth of each input ResNet block, in order (0 without attention). */
  readonly inputDepths: readonly number[];
  /** Transformer depth of each output block, in order (block 0 first). */
  readonly outputDepths: readonly number[];
  readonly middleDepth: number;
}

function transformerDepth(paths: ReadonlySet<string>, block: string): number {
  let depth = 0;
  while (paths.has(`${block}.transformer_blocks.${depth}`)) depth++;
  return depth;
}

function readStructure(paths: readonly string[]): UnetStructure {
  const blocks = new Set<string>();
  for (const p of paths) {
    const parts = p.split(".");
    // The deepest prefix looked up is `input_blocks.N.1.transformer_blocks.T` (5 parts).
    for (let i = 1; i <= Math.min(parts.length, 5); i++) blocks.add(parts.slice(0, i).join("."));
  }
  const resBlocks: number[] = [];
  const inputDepths: number[] = [];
  let count = 0;
  for (let i = 1; blocks.has(`input_blocks.${i}`); i++) {
    if (blocks.has(`input_blocks.${i}.0.op`)) {
      resBlocks.push(count);
      count = 0;
    } else {
      count++;
      inputDepths.push(transformerDepth(blocks, `input_blocks.${i}.1`));
    }
  }
  resBlocks.push(count);
  const outputDepths: number[] = [];
  for (let i = 0; blocks.has(`output_blocks.${i}`); i++) {
    outputDepths.push(transformerDepth(blocks, `output_blocks.${i}.1`));
  }
  return { resBlocks, inputDepths, outputDepths, middleDepth: transformerDepth(blocks, "middle_block.1") };
}

/** A spatial transformer's weights: its own (`proj_in`, ...) and `depth` transformer blocks'. */
function attention(out: [string, string][], from: string, to: string, depth: number): void {
  for (const b of ATTENTION) out.push([`${from}.${b}`, `${to}.${b}`]);
  for (let t = 0; t < depth; t++) {
    for (const b of TRANSFORMER_BLOCK)
      out.push([`${from}.transformer_blocks.${t}.${b}`, `${to}.transformer_blocks.${t}.${b}`]);
  }
}

/** A ResNet block's weights. */
function resnet(out: [string, string][], from: string, to: string): void {
  for (const [ldm, d] of RESNET) out.push([`${from}.${d}`, `${to}.${ldm}`]);
}

/**
 * Diffusers UNet weight names → LDM names (both without `.weight`), as ComfyUI's
 * `unet_to_diffusers` derives them from the detected config: every ResNet gets all its weights
 * (a `conv_shortcut` even where the block has no skip convolution) and every level a down- and
 * up-sampler, so some names point at weights the checkpoint does not have. `paths` are the UNet
 * tensor names without the `diffusion_model.` prefix.
 */
export function ldmUnetDiffusersNames(paths: readonly string[]): [diffusers: string, ldm: string][] {
  const s = readStructure(paths);
  const out: [string, string][] = [];
  const levels = s.resBlocks.length;
  const inputDepths = [...s.inputDepths];
  for (let x = 0; x < levels; x++) {
    const res = s.resBlocks[x]!;
    let n = 1 + (res + 1) * x;
    for (let i = 0; i < res; i++) {
      resnet(out, `down_blocks.${x}.resnets.${i}`, `input_blocks.${n}.0`);
      const depth = inputDepths.shift() ?? 0;
      if (depth > 0) attention(out, `down_blocks.${x}.attentions.${i}`, `input_blocks.${n}.1`, depth);
      n++;
    }
    out.push([`down_blocks.${x}.downsamplers.0.conv`, `input_blocks.${n}.0.op`]);
  }
  attention(out, "mid_block.attentions.0", "middle_block.1", s.middleDepth);
  resnet(out, "mid_block.resnets.0", "middle_block.0");
  resnet(out, "mid_block.resnets.1", "middle_block.2");
  const reversed = [...s.resBlocks].reverse();
  const outputDepths = [...s.outputDepths];
  for (let x = 0; x < levels; x++) {
    const l = reversed[x]! + 1;
    let n = l * x;
    for (let i = 0; i < l; i++) {
      resnet(out, `up_blocks.${x}.resnets.${i}`, `output_blocks.${n}.0`);
      const depth = outputDepths.shift() ?? 0;
      if (depth > 0) attention(out, `up_blocks.${x}.attentions.${i}`, `output_blocks.${n}.1`, depth);
      const c = depth > 0 ? 2 : 1;
      if (i === l - 1) out.push([`up_blocks.${x}.upsamplers.0.conv`, `output_blocks.${n}.${c}.conv`]);
      n++;
    }
  }
  for (const [ldm, d] of BASIC) out.push([d, ldm]);
  return out;
}
