import {
  type ConvOptions,
  conv1dBackward,
  conv2dBackward,
  type FloatArray,
  kronApplyBackward,
  matmul,
  numel,
  permute,
  reshape,
  scale as scaleTensor,
  type Tensor,
} from "@lycoris-ts/kernels";
import { lokrDeltaWeight } from "./delta-weight";
import { chainFactorGrads, rebuildW1, rebuildW2, resolveStructure } from "./factors";
import { structuredConvForward } from "./forward";
import { kronFactorGradsDense, swapConv1dLayout } from "./kron-layout";
import { checkConvInput, choosePath, convOptions, expandGroupRows, flattenLinearInput } from "./plan";
import type { LoKrForwardOptions, LoKrLayerShape } from "./types";

/** The result of {@link lokrBackward}. */
export interface LoKrBackwardResult<A extends FloatArray> {
  /** Gradient w.r.t. the layer input, shaped like `x`. */
  readonly dx: Tensor<A>;
  /** Gradient w.r.t. every adapter parameter, keyed and shaped like `params`. */
  readonly grads: Record<string, Tensor<A>>;
}

/**
 * Gradients of a loss through {@link lokrForward}: given `dy = ∂L/∂y` for `y = lokrForward(x, params, …)`,
 * returns `∂L/∂x` and `∂L/∂p` for every adapter parameter `p`. Computed factor-wise along the same path as the
 * forward (structured when that is cheaper): the gradients of the small rebuilt factors `w1`, `w2` are found
 * first and then chained through `w1_a @ w1_b`, `w2_a @ w2_b` or the Tucker rebuild.
 */
export function lokrBackward<A extends FloatArray>(
  x: Tensor<A>,
  params: Readonly<Record<string, Tensor<A>>>,
  layer: LoKrLayerShape,
  scale: number,
  dy: Tensor<A>,
  conv?: ConvOptions,
  o: LoKrForwardOptions = {},
): LoKrBackwardResult<A> {
  const s = resolveStructure(params, layer);
  const linear = layer.kind === "linear";
  const groups = linear ? 1 : (conv?.groups ?? layer.groups ?? 1);
  const path = choosePath(s, o, groups);
  const w1 = rebuildW1(params);
  const w2 = rebuildW2(params, layer, s);
  const [l, k] = s.outFactors;
  const [m, n] = s.inFactors;

  let dx: Tensor<A>;
  let dw1: Tensor<A>;
  let dw2: Tensor<A>;
  if (path === "structured" && linear) {
    const x2 = flattenLinearInput(x, layer);
    const dy2 = reshape(dy, [x2.shape[0]!, layer.outFeatures]);
    const g = kronApplyBackward(x2, w1, reshape(w2, [k, n]), dy2, scale);
    dx = reshape(g.dx, x.shape);
    dw1 = g.da;
    dw2 = reshape(g.db, w2.shape);
  } else if (path === "structured") {
    checkConvInput(x, layer, groups);
    const N = x.shape[0]! * groups;
    const f = structuredConvForward(x, w1, w2, scale, s, layer, conv);
    const inner = k * numel(f.spatialOut);
    const dYAll = expandGroupRows(dy, groups);
    const dY = reshape(permute(reshape(dYAll, [N, l, inner]), [1, 0, 2]), [l, N * inner]);
    dw1 = scaleTensor(matmul(dY, f.h, { transB: true }), scale);
    const dH = matmul(scaleTensor(w1, scale), dY, { transA: true }); // [m, N·inner]
    const dHc = reshape(permute(reshape(dH, [m, N, inner]), [1, 0, 2]), [N * m, k, ...f.spatialOut]);
    const back = layer.kind === "conv1d" ? conv1dBackward : conv2dBackward;
    const g = back(f.xr, w2, dHc, { ...convOptions(layer, conv), groups: 1 });
    dx = reshape(g.dx, x.shape);
    dw2 = g.dw;
  } else {
    const delta = lokrDeltaWeight(params, layer, scale, o);
    let dDelta: Tensor<A>;
    if (linear) {
      const x2 = flattenLinearInput(x, layer);
      const dy2 = reshape(dy, [x2.shape[0]!, layer.outFeatures]);
      dx = reshape(matmul(dy2, delta), x.shape);
      dDelta = matmul(dy2, x2, { transA: true });
    } else {
      checkConvInput(x, layer, groups);
      const back = layer.kind === "conv1d" ? conv1dBackward : conv2dBackward;
      const g = back(x, delta, dy, convOptions(layer, conv));
      dx = g.dx;
      dDelta = g.dw;
    }
    if (s.peftConv1dQuirk && (o.layout ?? "peft") === "peft") dDelta = swapConv1dLayout(dDelta, s, "peft");
    const g = kronFactorGradsDense(dDelta, w1, w2, scale, s);
    dw1 = g.dw1;
    dw2 = g.dw2;
  }
  return { dx, grads: chainFactorGrads(params, s, dw1, dw2) };
}
