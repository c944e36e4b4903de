import {
  addScaledInPlace,
  type FloatArray,
  formatShape,
  kronMergeInto,
  sameShape,
  type Tensor,
} from "@lycoris-ts/kernels";
import { lokrDeltaWeight, weightShape } from "./delta-weight";
import { LoKrError } from "./errors";
import { rebuildW1, rebuildW2, resolveStructure } from "./factors";
import type { LoKrDeltaOptions, LoKrLayerShape } from "./types";

/**
 * Adds the LoKr update to a base weight in place: `weight += scale · ΔW` with ΔW as in {@link lokrDeltaWeight}
 * (use `scale < 0`, i.e. `-scaling`, to unmerge). For the true Kronecker layout the factors are rebuilt small
 * (`w1 [l, m]`, `w2 [k, n, ...kernel]`) and folded in block by block without allocating the full product;
 * only PEFT's Conv1d full-`lokr_w2` layout materialises ΔW (into `o.out` when given: a scratch buffer of at
 * least the weight's length, as {@link lokrDeltaWeight} takes it).
 *
 * @param weight - The base weight `[out, in/groups, ...kernel]`, modified in place.
 * @param scale - The adapter scaling (`alpha / r`), negated to unmerge.
 */
export function lokrMergeInto<A extends FloatArray>(
  weight: Tensor<A>,
  params: Readonly<Record<string, Tensor<A>>>,
  layer: LoKrLayerShape,
  scale: number,
  o: LoKrDeltaOptions = {},
): void {
  const expected = weightShape(layer);
  if (!sameShape(weight.shape, expected)) {
    throw new LoKrError(
      "shape_mismatch",
      `lokrMergeInto: weight has shape ${formatShape(weight.shape)}, the layer's weight is ${formatShape(expected)}`,
      { field: "weight", expected: formatShape(expected), received: formatShape(weight.shape) },
    );
  }
  const s = resolveStructure(params, layer);
  if (s.peftConv1dQuirk && (o.layout ?? "peft") === "peft") {
    addScaledInPlace(weight, lokrDeltaWeight(params, layer, 1, o), scale);
    return;
  }
  kronMergeInto(weight, rebuildW1(params), rebuildW2(params, layer, s), scale);
}
