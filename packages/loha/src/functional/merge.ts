import type { FloatArray, Tensor } from "@lycoris-ts/kernels";
import { expectWeightShape, lohaDeltaWeight } from "./delta-weight";
import { resolveLoHaFactors } from "./factors";
import { checkLayerShape } from "./param-shapes";
import type { LoHaLayerShape, LoHaParams } from "./types";

/**
 * Adds `scale · ΔW` to `weight` in place (PEFT `merge`); a negative `scale` un-merges.
 *
 * For the non-Tucker form ΔW is produced one output row at a time (two length-`in·∏k` scratch
 * rows), so no `out × in` temporary is allocated; the Tucker form (convolutions only, small
 * kernels) builds ΔW once.
 */
export function lohaMergeInto(
  weight: Tensor<Float32Array>,
  params: LoHaParams<FloatArray>,
  layer: LoHaLayerShape,
  scale: number,
): void {
  checkLayerShape(layer);
  expectWeightShape(weight, layer, "weight");
  const f = resolveLoHaFactors(params, layer);
  const w = weight.data;
  if (f.t1 !== null) {
    const delta = lohaDeltaWeight(params, layer, scale).data;
    for (let i = 0; i < w.length; i++) w[i] = (w[i] ?? 0) + (delta[i] ?? 0);
    return;
  }
  const out = layer.outFeatures;
  const cols = w.length / out;
  const r1 = f.w1a.shape[1] ?? 0;
  const r2 = f.w2a.shape[1] ?? 0;
  const a1 = f.w1a.data;
  const b1 = f.w1b.data;
  const a2 = f.w2a.data;
  const b2 = f.w2b.data;
  const p1 = new Float64Array(cols);
  const p2 = new Float64Array(cols);
  for (let o = 0; o < out; o++) {
    p1.fill(0);
    p2.fill(0);
    for (let i = 0; i < r1; i++) {
      const c = a1[o * r1 + i] ?? 0;
      if (c === 0) continue;
      const base = i * cols;
      for (let k = 0; k < cols; k++) p1[k] = (p1[k] ?? 0) + c * (b1[base + k] ?? 0);
    }
    for (let j = 0; j < r2; j++) {
      const c = a2[o * r2 + j] ?? 0;
      if (c === 0) continue;
      const base = j * cols;
      for (let k = 0; k < cols; k++) p2[k] = (p2[k] ?? 0) + c * (b2[base + k] ?? 0);
    }
    const row = o * cols;
    for (let k = 0; k < cols; k++) w[row + k] = (w[row + k] ?? 0) + (p1[k] ?? 0) * (p2[k] ?? 0) * scale;
  }
}
