import {
  geometryFromWeightShape,
  inputMajorGeometry,
  type LayerGeometry,
  type ParameterShapes,
} from "@lycoris-ts/runtime";
import type { LoraConfig } from "../lora-config";

/**
 * The base layers LoRA factors with these shapes could belong to; the factors fix the weight shape:
 *
 * - `lora_embedding_A [r, num_embeddings]`, `lora_embedding_B [embedding_dim, r]`: an embedding
 *   (weight `[num_embeddings, embedding_dim]`);
 * - 2-D `lora_A.weight [r, in]`, `lora_B.weight [out, r]`: a linear `[out, in]`. A GPT-2 `Conv1D` (weight
 *   `[in, out]`) has the same factors; tools without a model description read them as linear. With the
 *   adapter's `config`, the `Conv1D` `[in, out]` is a candidate too, first when `fan_in_fan_out` is set
 *   (PEFT saves it `true` once a `Conv1D` was adapted; a square weight is told apart by it alone);
 * - 3-D / 4-D `lora_A.weight [r, in, ...kernel]`, `lora_B.weight [out, r / groups, 1, ...]`: a conv
 *   `[out, in / groups, ...kernel]` with `groups = r / lora_B.weight[1]`.
 */
export function loraLayerCandidates(shapes: ParameterShapes, config?: LoraConfig): LayerGeometry[] {
  const ea = shapes.get("lora_embedding_A");
  const eb = shapes.get("lora_embedding_B");
  if (ea !== undefined || eb !== undefined) {
    if (ea?.length !== 2 || eb?.length !== 2 || ea[0] !== eb[1]) return [];
    return [inputMajorGeometry("embedding", ea[1]!, eb[0]!)];
  }
  const a = shapes.get("lora_A.weight");
  const b = shapes.get("lora_B.weight");
  if (a === undefined || b === undefined || a.length !== b.length || a.length < 2) return [];
  const [r, inTotal, out, rPerGroup] = [a[0]!, a[1]!, b[0]!, b[1]!];
  if (rPerGroup <= 0 || r % rPerGroup !== 0 || b.slice(2).some((k) => k !== 1)) return [];
  const groups = r / rPerGroup;
  if (inTotal % groups !== 0 || (a.length === 2 && groups !== 1)) return [];
  const layer = geometryFromWeightShape([out, inTotal / groups, ...a.slice(2)], { groups });
  if (layer === null) return [];
  if (a.length !== 2 || config === undefined) return [layer];
  const conv1d = inputMajorGeometry("gpt2_conv1d", inTotal, out);
  return config.fanInFanOut ? [conv1d, layer] : [layer, conv1d];
}
