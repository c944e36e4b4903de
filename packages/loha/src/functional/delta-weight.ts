import {
  type FloatArray,
  formatShape,
  lowRankHadamard,
  reshape,
  sameShape,
  type Tensor,
  tuckerRebuild,
} from "@lycoris-ts/kernels";
import { resolveLoHaFactors } from "./factors";
import { LoHaMathError } from "./loha-math-error";
import { checkLayerShape, lohaBaseWeightShape } from "./param-shapes";
import type { LoHaLayerShape, LoHaParams } from "./types";

/**
 * ΔW of one LoHa adapter, shaped like the base weight, scaling included:
 * `ΔW = scale · (w1_a·w1_b) ⊙ (w2_a·w2_b)` (kernel flattened into `w*_b` for convolutions), or in
 * the Tucker form `ΔW = scale · T1(t1, w1_a, w1_b) ⊙ T2(t2, w2_a, w2_b)` with
 * `T(t, a, b)[p, q, …k] = Σᵢⱼ t[i, j, …k]·a[i, p]·b[j, q]` (PEFT's `make_weight_cp`).
 *
 * `scale` is PEFT's `scaling = alpha / r`. The array type follows `hada_w1_a`. With `out` (same array
 * type, at least out·in·∏kernel values), the non-Tucker ΔW is written there instead of a fresh array.
 */
export function lohaDeltaWeight<A extends FloatArray>(
  params: LoHaParams<A>,
  layer: LoHaLayerShape,
  scale: number,
  out?: A,
): Tensor<A> {
  checkLayerShape(layer);
  const f = resolveLoHaFactors(params, layer);
  const shape = lohaBaseWeightShape(layer);
  if (f.t1 !== null && f.t2 !== null) {
    const rebuilt = tuckerRebuild(f.t1, f.w1a, f.w1b);
    const other = tuckerRebuild(f.t2, f.w2a, f.w2b);
    const d = rebuilt.data;
    const e = other.data;
    for (let i = 0; i < d.length; i++) d[i] = (d[i] ?? 0) * (e[i] ?? 0) * scale;
    if (out === undefined) return reshape(rebuilt, shape);
    const data = out.subarray(0, d.length) as A;
    data.set(d);
    return reshape({ data, shape: rebuilt.shape }, shape);
  }
  return reshape(lowRankHadamard(f.w1a, f.w1b, f.w2a, f.w2b, scale, out), shape);
}

/** Throws unless `t`'s shape equals the base weight shape of `layer`. */
export function expectWeightShape(t: Tensor<FloatArray>, layer: LoHaLayerShape, field: string): void {
  const shape = lohaBaseWeightShape(layer);
  if (!sameShape(t.shape, shape)) {
    throw new LoHaMathError(`${field} has shape ${formatShape(t.shape)}, expected ${formatShape(shape)}`, {
      field,
      expected: formatShape(shape),
      received: formatShape(t.shape),
    });
  }
}
