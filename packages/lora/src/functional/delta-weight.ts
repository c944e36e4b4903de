import { type FloatArray, matmul, reshape, scale, type Tensor } from "@lycoris-ts/kernels";
import { loraFactors } from "./factors";
import { LoraError } from "./lora-error";
import type { LoraLayerShape, LoraParams } from "./types";

/**
 * The LoRA weight update, shaped like the base weight, exactly as PEFT's `get_delta_weight`:
 *
 * - linear: `scaling · B·A` `[out, in]`;
 * - GPT-2 `Conv1D` (fan_in_fan_out) and embedding: `scaling · (B·A)ᵀ` `[in, out]`;
 * - conv with one group: `ΔW[o, i, …] = scaling · Σ_r B[o, r] · A[r, i, …]`.
 *
 * A grouped conv has no ΔW of the base weight's shape (`lora_A` is dense): PEFT cannot compute or merge it,
 * and this throws `merge_not_supported_groups`. The result uses the array type of the parameters.
 */
export function loraDeltaWeight<A extends FloatArray>(
  params: LoraParams<A>,
  layer: LoraLayerShape,
  scaling: number,
): Tensor<A> {
  const { a, b } = loraFactors(params, layer);
  if (layer.kind === "conv1d" || layer.kind === "conv2d") {
    if (layer.groups > 1) {
      throw new LoraError(
        "merge_not_supported_groups",
        `A LoRA adapter on a conv with groups=${layer.groups} has no weight update of the base weight's shape ` +
          "(lora_A is dense, lora_B grouped), as in PEFT: Merging is not supported for _ConvNd layers with groups > 1!",
        { field: "groups", expected: "1", received: String(layer.groups) },
      );
    }
    const r = a.shape[0]!;
    const flat = matmul(reshape(b, [layer.outFeatures, r]), reshape(a, [r, a.data.length / r]));
    return scale(reshape(flat, [layer.outFeatures, layer.inFeatures, ...layer.kernelSize]), scaling);
  }
  if (layer.kind === "linear") return scale(matmul(b, a), scaling);
  return scale(matmul(a, b, { transA: true, transB: true }), scaling);
}
