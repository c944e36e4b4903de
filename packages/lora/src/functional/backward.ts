import {
  conv1d,
  conv1dBackward,
  conv2d,
  conv2dBackward,
  type FloatArray,
  gatherRows,
  matmul,
  permute,
  reshape,
  scale,
  scatterAddRows,
  type Tensor,
} from "@lycoris-ts/kernels";
import { loraConvPath } from "./conv-path";
import { loraFactors } from "./factors";
import { batched, requireConv, rowsOf } from "./layer-input";
import type { LoraConvGeometry, LoraLayerShape, LoraParams } from "./types";

/** Gradients of {@link loraForward}: w.r.t. the input and every LoRA parameter. */
export interface LoraBackwardResult<A extends FloatArray> {
  /** Zeros for an embedding (token ids get no gradient). */
  readonly dx: Tensor<A>;
  readonly grads: Record<string, Tensor<A>>;
}

/**
 * Gradients of {@link loraForward} given `dy`, the gradient of its output. With `h = A(x)`:
 * `dB = scaling · dyᵀ·h`, `dh = scaling · dy·B`, `dA = dhᵀ·x`, `dx = dh·A` (the conv and embedding forms
 * through the same convs / the same lookup).
 */
export function loraBackward<A extends FloatArray>(
  x: Tensor<A>,
  params: LoraParams<A>,
  layer: LoraLayerShape,
  scaling: number,
  dy: Tensor<A>,
  conv?: LoraConvGeometry,
): LoraBackwardResult<A> {
  const { a, b, r } = loraFactors(params, layer);
  const out = layer.outFeatures;
  if (layer.kind === "embedding") {
    const n = x.data.length;
    const h = reshape(gatherRows(permute(a, [1, 0]), x), [n, r]);
    const gs = scale(reshape(dy, [n, out]), scaling);
    const dh = matmul(gs, b);
    return {
      dx: { data: x.data.slice().fill(0) as A, shape: [...x.shape] },
      grads: {
        lora_embedding_A: permute(scatterAddRows(x, reshape(dh, [...x.shape, r]), layer.inFeatures), [1, 0]),
        lora_embedding_B: matmul(gs, h, { transA: true }),
      },
    };
  }
  if (layer.kind === "linear" || layer.kind === "gpt2_conv1d") {
    const rows = rowsOf(x, layer.inFeatures);
    const x2 = reshape(x, [rows, layer.inFeatures]);
    const h = matmul(x2, a, { transB: true });
    const gs = scale(reshape(dy, [rows, out]), scaling);
    const dh = matmul(gs, b);
    return {
      dx: reshape(matmul(dh, a), x.shape),
      grads: {
        "lora_A.weight": matmul(dh, x2, { transA: true }),
        "lora_B.weight": matmul(gs, h, { transA: true }),
      },
    };
  }
  const path = loraConvPath(layer, requireConv(layer, conv));
  const [run, back] = layer.kind === "conv1d" ? [conv1d, conv1dBackward] : [conv2d, conv2dBackward];
  const { x: xb, unbatch } = batched(x, layer);
  const { x: dyb } = batched(scale(dy, scaling), layer);
  const h = run(xb, a, null, path.a);
  const gB = back(h, b, dyb, path.b);
  const gA = back(xb, a, gB.dx, path.a);
  return { dx: unbatch(gA.dx), grads: { "lora_A.weight": gA.dw, "lora_B.weight": gB.dw } };
}
