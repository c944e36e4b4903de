import {
  type ConvOptions,
  conv1d,
  conv2d,
  type FloatArray,
  lowRankHadamard,
  lowRankHadamardApply,
  matmul,
  reshape,
  type Tensor,
} from "@lycoris-ts/kernels";
import { lohaDeltaWeight } from "./delta-weight";
import { resolveLoHaFactors } from "./factors";
import { adapterConvOptions, checkConvInput, linearRows } from "./layer-input";
import { linearPathFor } from "./linear-path";
import { checkLayerShape } from "./param-shapes";
import type { LoHaApplyOptions, LoHaLayerShape, LoHaParams } from "./types";

/**
 * The adapter's contribution to the layer output (PEFT `_get_delta_activations`), no bias:
 * `linear(x, ΔW)` for `x [..., in]` → `[..., out]`, or `conv(x, ΔW)` with the convolution options
 * `conv` as given for `x [N, C, ...]` (see {@link adapterConvOptions}: the runtime layer resolves the
 * padding mode). Rank dropout is not applied here: the runtime layer masks the output rows.
 *
 * Linear layers are applied without building ΔW when that is cheaper (ΔW has rank ≤ r1·r2:
 * `ΔW = Σᵢⱼ (a1ᵢ ⊙ a2ⱼ)(b1ᵢ ⊙ b2ⱼ)ᵀ`, so a row costs O(r²·(in+out)) instead of O(in·out));
 * see {@link lohaLinearPath} and `o.path`.
 * The array type `A` is taken from `params`; `x` must use the same element type.
 */
export function lohaForward<A extends FloatArray>(
  x: Tensor<NoInfer<A>>,
  params: LoHaParams<A>,
  layer: LoHaLayerShape,
  scale: number,
  conv?: ConvOptions,
  o?: LoHaApplyOptions,
): Tensor<A> {
  checkLayerShape(layer);
  if (layer.kind === "linear") {
    const rows = linearRows(x, layer, "x");
    const f = resolveLoHaFactors(params, layer);
    const x2 = reshape(x, [rows, layer.inFeatures]);
    const path = linearPathFor(o?.path, rows, layer, f);
    let y: Tensor<A>;
    if (path === "factorised") {
      y = lowRankHadamardApply(x2, f.w1a, f.w1b, f.w2a, f.w2b, scale);
    } else {
      y = matmul(x2, lowRankHadamard(f.w1a, f.w1b, f.w2a, f.w2b, scale), { transB: true });
    }
    return reshape(y, [...x.shape.slice(0, -1), layer.outFeatures]);
  }
  const opts = adapterConvOptions(layer, conv);
  checkConvInput(x, layer, opts.groups, "x");
  const delta = lohaDeltaWeight(params, layer, scale);
  return layer.kind === "conv1d" ? conv1d(x, delta, null, opts) : conv2d(x, delta, null, opts);
}
