import {
  describeParameterShapes,
  foldedLayerCandidates,
  type LayerGeometry,
  type ParameterProblem,
  type ParameterShapes,
  type ParameterStructure,
} from "@lycoris-ts/runtime";

/**
 * What the file tools (`lycoris inspect`, `validate`, `merge`) ask of a variant: its structure read
 * from parameter shapes, and the layers those shapes could belong to. LoCon is one low-rank
 * product `B·A`, `locon_a [r, in·∏kernel]`, `locon_b [out, r]`.
 */
export function loconDescribeParameters(shapes: ParameterShapes): ParameterStructure | ParameterProblem {
  return describeParameterShapes(shapes, (c) => {
    const a = c.need("locon_a", [2], "LoCon needs both factors");
    c.need("locon_b", [2], "LoCon needs both factors");
    c.fit("ΔW = locon_b @ locon_a", ["locon_b", 1], ["locon_a", 0]);
    return {
      factors: [{ name: "ba", form: "lowrank", params: ["locon_b", "locon_a"] }],
      rank: a[0]!,
      flags: {},
      summary: "low-rank B·A",
    };
  });
}

/** `out` from `locon_b`, `in·∏kernel` from `locon_a`: every kernel split is a candidate. */
export function loconLayerCandidates(shapes: ParameterShapes): LayerGeometry[] {
  const a = shapes.get("locon_a");
  const b = shapes.get("locon_b");
  return a?.length === 2 && b?.length === 2 ? foldedLayerCandidates(b[0]!, a[1]!) : [];
}
