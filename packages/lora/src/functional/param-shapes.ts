import { LoraError } from "./lora-error";
import type { LoraLayerShape } from "./types";

/** PEFT's LoRA parameter names, in its attribute order (saved files follow it). */
export const LORA_PARAM_NAMES = [
  "lora_A.weight",
  "lora_B.weight",
  "lora_embedding_A",
  "lora_embedding_B",
] as const;

/** Names and shapes of the LoRA parameters of one layer, in PEFT's order. */
export type LoraParamShapes = ReadonlyArray<readonly [name: string, shape: readonly number[]]>;

const CONV_CLASS = { conv1d: "Conv1d", conv2d: "Conv2d" } as const;

/**
 * PEFT's check when it wraps a convolution: the rank must be divisible by the conv's groups (`lora_B` is a
 * grouped 1×…×1 conv). Throws `rank_not_divisible_by_groups` with PEFT's message.
 */
export function checkLoraRank(layer: LoraLayerShape, r: number): void {
  if ((layer.kind === "conv1d" || layer.kind === "conv2d") && r % layer.groups !== 0) {
    throw new LoraError(
      "rank_not_divisible_by_groups",
      `Targeting a ${CONV_CLASS[layer.kind]} with groups=${layer.groups} and rank ${r}. ` +
        "Currently, support is limited to conv layers where the rank is divisible by groups. " +
        "Either choose a different rank or do not target this specific layer.",
      { field: "r", expected: `a multiple of groups (${layer.groups})`, received: String(r) },
    );
  }
}

/**
 * The parameters PEFT creates for rank `r` on `layer`:
 *
 * - linear / GPT-2 `Conv1D`: `lora_A.weight` `[r, in]`, `lora_B.weight` `[out, r]`;
 * - conv: `lora_A.weight` `[r, in, ...kernel]` (a conv with the base kernel, stride and padding),
 *   `lora_B.weight` `[out, r / groups, 1, ...]` (a 1×…×1 conv with the base's groups);
 * - embedding: `lora_embedding_A` `[r, num_embeddings]`, `lora_embedding_B` `[embedding_dim, r]`.
 */
export function loraParamShapes(layer: LoraLayerShape, r: number): LoraParamShapes {
  if (!(Number.isInteger(r) && r > 0)) {
    throw new LoraError("invalid_params", `LoRA rank must be a positive integer, got ${r}`, {
      field: "r",
      expected: "a positive integer",
      received: String(r),
    });
  }
  const { outFeatures: out, inFeatures: inF } = layer;
  if (layer.kind === "embedding") {
    return [
      ["lora_embedding_A", [r, inF]],
      ["lora_embedding_B", [out, r]],
    ];
  }
  if (layer.kind === "linear" || layer.kind === "gpt2_conv1d") {
    return [
      ["lora_A.weight", [r, inF]],
      ["lora_B.weight", [out, r]],
    ];
  }
  checkLoraRank(layer, r);
  return [
    ["lora_A.weight", [r, inF, ...layer.kernelSize]],
    ["lora_B.weight", [out, r / layer.groups, ...layer.kernelSize.map(() => 1)]],
  ];
}

/** Number of LoRA parameters of one layer. */
export function loraNumParams(layer: LoraLayerShape, r: number): number {
  return loraParamShapes(layer, r).reduce((n, [, shape]) => n + shape.reduce((a, b) => a * b, 1), 0);
}
