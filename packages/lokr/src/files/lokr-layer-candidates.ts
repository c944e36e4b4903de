import {
  exactLayerCandidates,
  foldedLayerCandidates,
  type LayerGeometry,
  type ParameterShapes,
  tuckerLayerCandidates,
} from "@lycoris-ts/runtime";

/**
 * The base layers LoKr factors with these shapes could belong to: `out = l·k`, `in/groups = m·n`
 * with `w1 [l, m]`; a full `lokr_w2 [k, n, ...kernel]` or a Tucker core fixes the kernel, a low-rank
 * `lokr_w2_b [r, n·∏kernel]` folds it (every split is a candidate).
 */
export function lokrLayerCandidates(shapes: ParameterShapes): LayerGeometry[] {
  const dim = (name: string, i: number): number | undefined => shapes.get(name)?.[i];
  const l = dim("lokr_w1", 0) ?? dim("lokr_w1_a", 0);
  const m = dim("lokr_w1", 1) ?? dim("lokr_w1_b", 1);
  if (l === undefined || m === undefined) return [];
  const w2 = shapes.get("lokr_w2");
  if (w2 !== undefined) {
    return w2.length < 2 ? [] : exactLayerCandidates(l * w2[0]!, m * w2[1]!, w2.slice(2));
  }
  const t2 = shapes.get("lokr_t2");
  if (t2 !== undefined) {
    const k = dim("lokr_w2_a", 1);
    const n = dim("lokr_w2_b", 1);
    return k === undefined || n === undefined ? [] : tuckerLayerCandidates(l * k, m * n, t2.slice(2));
  }
  const k = dim("lokr_w2_a", 0);
  const nk = dim("lokr_w2_b", 1);
  return k === undefined || nk === undefined ? [] : foldedLayerCandidates(l * k, m * nk, m);
}
