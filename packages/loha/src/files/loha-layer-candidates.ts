import {
  foldedLayerCandidates,
  type LayerGeometry,
  type ParameterShapes,
  tuckerLayerCandidates,
} from "@lycoris-ts/runtime";

/**
 * The base layers LoHa factors with these shapes could belong to: with Tucker cores, `hada_w1_a [r, out]`,
 * `hada_w1_b [r, in]` and the core's kernel; otherwise `hada_w1_a [out, r]` and `hada_w1_b [r, in·∏kernel]`,
 * which folds the kernel (every split is a candidate).
 */
export function lohaLayerCandidates(shapes: ParameterShapes): LayerGeometry[] {
  const dim = (name: string, i: number): number | undefined => shapes.get(name)?.[i];
  const t1 = shapes.get("hada_t1");
  if (t1 !== undefined) {
    const out = dim("hada_w1_a", 1);
    const inPerGroup = dim("hada_w1_b", 1);
    return out === undefined || inPerGroup === undefined
      ? []
      : tuckerLayerCandidates(out, inPerGroup, t1.slice(2));
  }
  const out = dim("hada_w1_a", 0);
  const inTimesKernel = dim("hada_w1_b", 1);
  return out === undefined || inTimesKernel === undefined ? [] : foldedLayerCandidates(out, inTimesKernel);
}
