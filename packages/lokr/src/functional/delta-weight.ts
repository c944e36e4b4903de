import { type FloatArray, kron, outputLike, reshape, type Tensor } from "@lycoris-ts/kernels";
import { rebuildW1, rebuildW2, resolveStructure } from "./factors";
import { swapConv1dLayout } from "./kron-layout";
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
 * The result uses the array type of the parameters (Float32Array or Float64Array); with `o.out` it is
 * written there (one buffer reused across modules touches no fresh memory).
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
  const out = o.out === undefined ? undefined : outputLike("lokrDeltaWeight", w1.data, o.out.length, o.out);
  const product = kron(w1, w2, out);
  const data = product.data;
  for (let i = 0; i < data.length; i++) data[i] = data[i]! * scale;
  const delta = reshape({ data, shape: product.shape }, weightShape(layer));
  if (!s.peftConv1dQuirk || (o.layout ?? "peft") !== "peft") return delta;
  const swapped = swapConv1dLayout(delta, s, "true");
  if (out === undefined) return swapped;
  data.set(swapped.data);
  return { data, shape: swapped.shape };
}
