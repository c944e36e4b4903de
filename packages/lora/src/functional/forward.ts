import {
  conv1d,
  conv2d,
  type FloatArray,
  gatherRows,
  matmul,
  permute,
  reshape,
  scale,
  type Tensor,
} from "@lycoris-ts/kernels";
import { checkLoraOutputShape, loraConvPath } from "./conv-path";
import { loraFactors } from "./factors";
import { batched, requireConv, rowsOf } from "./layer-input";
import type { LoraConvGeometry, LoraLayerShape, LoraParams } from "./types";

/**
 * PEFT's LoRA term for input `x`, without materialising ΔW: `lora_B(lora_A(x)) · scaling` (linear, GPT-2
 * `Conv1D`, conv) or `embedding(x, Aᵀ) · Bᵀ · scaling` (embedding; `x` holds token ids). For a conv, `lora_A`
 * is a conv with the base's kernel, stride and padding but **not** its dilation (PEFT's quirk: with dilation
 * this differs from `conv(x, ΔW)`, or has another size, which throws `conv_dilation_shape_mismatch` as
 * PEFT's forward fails), and `lora_B` a grouped 1×…×1 conv. Dropout is the caller's (the runtime's) job.
 */
export function loraForward<A extends FloatArray>(
  x: Tensor<A>,
  params: LoraParams<A>,
  layer: LoraLayerShape,
  scaling: number,
  conv?: LoraConvGeometry,
): Tensor<A> {
  const { a, b, r } = loraFactors(params, layer);
  if (layer.kind === "embedding") {
    const h = gatherRows(permute(a, [1, 0]), x);
    const y = matmul(reshape(h, [x.data.length, r]), b, { transB: true });
    return scale(reshape(y, [...x.shape, layer.outFeatures]), scaling);
  }
  if (layer.kind === "linear" || layer.kind === "gpt2_conv1d") {
    const x2 = reshape(x, [rowsOf(x, layer.inFeatures), layer.inFeatures]);
    const y = matmul(matmul(x2, a, { transB: true }), b, { transB: true });
    return scale(reshape(y, [...x.shape.slice(0, -1), layer.outFeatures]), scaling);
  }
  const geometry = requireConv(layer, conv);
  const path = loraConvPath(layer, geometry);
  const run = layer.kind === "conv1d" ? conv1d : conv2d;
  const { x: xb, unbatch } = batched(x, layer);
  const y = unbatch(run(run(xb, a, null, path.a), b, null, path.b));
  checkLoraOutputShape(x.shape, y.shape, layer, geometry);
  return scale(y, scaling);
}
