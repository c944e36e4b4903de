import type { FloatArray } from "@lycoris-ts/kernels";
import type { ResolvedLoHaFactors } from "./factors";
import type { LoHaLayerShape, LoHaLinearPath } from "./types";

/**
 * Picks how to apply a linear LoHa adapter to `rows` input rows by a multiply–add estimate:
 * the factorised (Khatri–Rao) form costs about `rows·r1·r2·(in+out)` plus `r1·r2·(in+out)` to
 * build its factors; materialising costs `(r1+r2+1)·out·in` to build ΔW plus `rows·out·in` to apply
 * it. Returns the cheaper one (`"auto"` resolved); an explicit choice is passed through.
 */
export function lohaLinearPath(
  requested: LoHaLinearPath | undefined,
  rows: number,
  outFeatures: number,
  inFeatures: number,
  r1: number,
  r2: number,
): "factorised" | "materialised" {
  if (requested === "factorised" || requested === "materialised") return requested;
  const rr = r1 * r2;
  const factorised = (rows + 1) * rr * (inFeatures + outFeatures);
  const materialised = (r1 + r2 + 1 + rows) * outFeatures * inFeatures;
  return factorised < materialised ? "factorised" : "materialised";
}

/** Internal: {@link lohaLinearPath} for `rows` inputs of a linear layer with these factors. */
export function linearPathFor<A extends FloatArray>(
  requested: LoHaLinearPath | undefined,
  rows: number,
  layer: LoHaLayerShape,
  f: ResolvedLoHaFactors<A>,
): "factorised" | "materialised" {
  const r1 = f.w1a.shape[1] ?? 0;
  const r2 = f.w2a.shape[1] ?? 0;
  return lohaLinearPath(requested, rows, layer.outFeatures, layer.inFeatures, r1, r2);
}
