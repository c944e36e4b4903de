import type { KohyaFormat, KohyaModuleShapes, LayerGeometry, ParameterShapes } from "@lycoris-ts/runtime";
import { LOKR_PARAM_NAMES } from "./lokr-parameter-names";

/** The Kronecker splits `out = outL · outK`, `in/groups = inM · inN` of a module. */
function splits(shapes: ParameterShapes, layer: LayerGeometry) {
  const outL = (shapes.get("lokr_w1") ?? shapes.get("lokr_w1_a"))![0]!;
  const inM = (shapes.get("lokr_w1") ?? shapes.get("lokr_w1_b"))![1]!;
  return { outL, inM, outK: layer.outFeatures / outL, inN: layer.inFeatures / inM };
}

/**
 * PEFT options for LoKr modules read from a kohya file: `decompose_both` when any `w1` is low rank,
 * `use_effective_conv2d` when any `w2` is Tucker, and `decompose_factor` -1 (PEFT's balanced split)
 * then every factor the modules use.
 */
function peftOptions(modules: readonly KohyaModuleShapes[]): Array<Record<string, unknown>> {
  const decomposeBoth = modules.some((m) => !m.shapes.has("lokr_w1"));
  const useEffectiveConv2d = modules.some((m) => m.shapes.has("lokr_t2"));
  const factors = new Set<number>();
  for (const m of modules) {
    const s = splits(m.shapes, m.layer);
    for (const f of [s.outL, s.inM, s.outK, s.inN]) factors.add(f);
  }
  return [-1, ...[...factors].sort((a, b) => a - b)].map((decomposeFactor) => ({
    decomposeBoth,
    useEffectiveConv2d,
    decomposeFactor,
  }));
}

/** PEFT keeps `w2` full for `r ≥ max(k, n) / 2`, and `w1` full unless `decompose_both` and `r < max(l, m) / 2`. */
function fullFactorRank(
  shapes: ParameterShapes,
  layer: LayerGeometry,
  options: Readonly<Record<string, unknown>>,
): number {
  const s = splits(shapes, layer);
  return Math.max(
    Math.ceil(Math.max(s.outK, s.inN) / 2),
    options.decomposeBoth === true ? Math.ceil(Math.max(s.outL, s.inM) / 2) : 1,
  );
}

/**
 * LoKr in kohya / LyCORIS files: the tensors keep PEFT's names, Conv1d Tucker cores are 3-D, and
 * with both factors full (no rank: the loaders ignore alpha) PEFT's scaling goes into `lokr_w1`.
 */
export const lokrKohya: KohyaFormat = {
  algo: "lokr",
  tensorNames: Object.fromEntries(LOKR_PARAM_NAMES.map((n) => [n, n])),
  tuckerCores: ["lokr_t2"],
  scaleParameter: "lokr_w1",
  peftOptions,
  fullFactorRank,
};
