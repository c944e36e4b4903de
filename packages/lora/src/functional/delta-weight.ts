import { type FloatArray, matmul, reshape, type Tensor } from "@lycoris-ts/kernels";
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
 * and this throws `merge_not_supported_groups`. The result uses the array type of the parameters; with
 * `out` (same array type, at least ΔW's size) it is written there instead of a fresh array (a caller
 * merging many modules reuses one buffer).
 */
export function loraDeltaWeight<A extends FloatArray>(
  params: LoraParams<A>,
  layer: LoraLayerShape,
  scaling: number,
  out?: A,
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
    const flat = matmul(reshape(b, [layer.outFeatures, r]), reshape(a, [r, a.data.length / r]), { out });
    return scaleInPlace(reshape(flat, [layer.outFeatures, layer.inFeatures, ...layer.kernelSize]), scaling);
  }
  if (layer.kind === "linear") return scaleInPlace(matmul(b, a, { out }), scaling);
  return scaleInPlace(matmul(a, b, { transA: true, transB: true, out }), scaling);
}

/** `t ← s · t` (the product is ours: fresh or the caller's `out`), as kernels' `scale` computes it. */
function scaleInPlace<A extends FloatArray>(t: Tensor<A>, s: number): Tensor<A> {
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = s * d[i]!;
  return t;
}
