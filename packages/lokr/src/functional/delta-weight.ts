import { type FloatArray, kron, reshape, type Tensor } from "@lycoris-ts/kernels";
import { rebuildW1, rebuildW2, resolveStructure } from "./factors";
import { allocLike, swapConv1dLayout } from "./kron-layout";
import type { LoKrDeltaOptions, LoKrLayerShape } from "./types";

/** Internal: the base weight shape `[out, in/groups, ...kernel]` of a layer. */
export function weightShape(layer: LoKrLayerShape): number[] {
  return [layer.outFeatures, layer.inFeatures, ...layer.kernelSize];
}

/**
 * The LoKr weight update `ΔW = scale · kron(w1, w2)`, shaped like the base weight `[out, in/groups, ...kernel]`,
 * exactly as PEFT's `get_delta_weight` (without rank dropout; apply {@link rankDropoutMask} to its rows for that).
 *
 * `w1` is `lokr_w1` or `lokr_w1_a @ lokr_w1_b`; `w2` is `lokr_w2`, `lokr_w2_a @ lokr_w2_b` (kernel flattened
 * into `w2_b`) or the Tucker rebuild of `lokr_t2`, `lokr_w2_a`, `lokr_w2_b`. With the default `layout: "peft"`,
 * a Conv1d with a full 3-D `lokr_w2` gets PEFT's permuted layout (see docs/peft-differences.md);
 * `layout: "kronecker"` always gives the true Kronecker product.
 *
 * The result uses the array type of the parameters (Float32Array or Float64Array).
 */
export function lokrDeltaWeight<A extends FloatArray>(
  params: Readonly<Record<string, Tensor<A>>>,
  layer: LoKrLayerShape,
  scale: number,
  o: LoKrDeltaOptions = {},
): Tensor<A> {
  const s = resolveStructure(params, layer);
  const w1 = rebuildW1(params);
  const w2 = rebuildW2(params, layer, s);
  const product = kron(w1, w2);
  const out = allocLike(product.data, product.data.length);
  const src = product.data;
  for (let i = 0; i < src.length; i++) out[i] = src[i]! * scale;
  const delta = reshape({ data: out, shape: product.shape }, weightShape(layer));
  if (s.peftConv1dQuirk && (o.layout ?? "peft") === "peft") return swapConv1dLayout(delta, s, "true");
  return delta;
}
