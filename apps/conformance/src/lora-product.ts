import type { Tensor } from "@lycoris-ts/kernels";
import { type LayerGeometry, PEFT_KEY_PREFIX } from "@lycoris-ts/runtime";
import { Mismatch } from "./compare";

/**
 * `B·A` of one module's saved LoRA tensors as the matrix ΔW was decomposed as, `[out, in/groups · ∏kernel]`
 * (float64), read back independently of how the converter laid them out: for a grouped conv, output `o` of group
 * `g` sees only rows `g·k … (g+1)·k − 1` of the dense `lora_A` on group `g`'s input channels.
 */
export function loraProduct(
  weights: ReadonlyMap<string, Tensor<Float32Array>>,
  module: string,
  layer: LayerGeometry,
): Float64Array {
  const emb = layer.kind === "embedding";
  const a = weights.get(`${PEFT_KEY_PREFIX}${module}.${emb ? "lora_embedding_A" : "lora_A.weight"}`);
  const b = weights.get(`${PEFT_KEY_PREFIX}${module}.${emb ? "lora_embedding_B" : "lora_B.weight"}`);
  if (a === undefined || b === undefined)
    throw new Mismatch(`${module}: no lora_A / lora_B in the converted weights`);
  const out = layer.outFeatures;
  const taps = layer.kernelSize.reduce((x, y) => x * y, 1);
  const g = layer.groups;
  const inG = layer.inFeatures;
  const k = b.shape[1]!; // lora_B: [out, r / groups, 1, …]
  const aRow = a.data.length / a.shape[0]!; // in_channels · taps
  const cols = inG * taps;
  const prod = new Float64Array(out * cols);
  for (let o = 0; o < out; o++) {
    const grp = Math.floor(o / (out / g));
    for (let t = 0; t < k; t++) {
      const bot = b.data[o * k + t]!;
      const base = (grp * k + t) * aRow + grp * cols;
      for (let j = 0; j < cols; j++) prod[o * cols + j] = prod[o * cols + j]! + bot * a.data[base + j]!;
    }
  }
  return prod;
}
