import {
  type ConvOptions,
  conv1d,
  conv2d,
  type FloatArray,
  kronApply,
  matmul,
  numel,
  permute,
  reshape,
  scale as scaleTensor,
  type Tensor,
} from "@lycoris-ts/kernels";
import { lokrDeltaWeight } from "./delta-weight";
import { type ResolvedStructure, rebuildW1, rebuildW2, resolveStructure } from "./factors";
import { checkConvInput, choosePath, convOptions, flattenLinearInput, selectGroupRows } from "./plan";
import type { LoKrForwardOptions, LoKrLayerShape } from "./types";

/** Internal: `conv1d` or `conv2d` by layer kind. */
export function convFor(kind: LoKrLayerShape["kind"]): typeof conv2d {
  return kind === "conv1d" ? conv1d : conv2d;
}

/**
 * Internal: the structured conv forward. Returns the output before group selection, `[N·G, out, ...S']` (see
 * `selectGroupRows`), and the intermediate `H [m, N·G·k·S']` (the result of the `w2` convolution with the `m`
 * input groups moved to the front), which the backward pass reuses.
 */
export function structuredConvForward<A extends FloatArray>(
  x: Tensor<A>,
  w1: Tensor<A>,
  w2: Tensor<A>,
  scale: number,
  s: ResolvedStructure,
  layer: LoKrLayerShape,
  conv: ConvOptions | undefined,
): { y: Tensor<A>; h: Tensor<A>; xr: Tensor<A>; spatialOut: readonly number[] } {
  const [l, k] = s.outFactors;
  const [m, n] = s.inFactors;
  const convOpts = convOptions(layer, conv);
  // groups: each group's channels become their own batch entry, run through all rows of ΔW
  const N = x.shape[0]! * convOpts.groups;
  const spatial = x.shape.slice(2);
  // channel i·n + j of (a group of) x goes to batch entry (b, i): [N·m, n, ...S]
  const xr = reshape(x, [N * m, n, ...spatial]);
  const hc = convFor(layer.kind)(xr, w2, null, { ...convOpts, groups: 1 }); // [N·m, k, ...S']
  const spatialOut = hc.shape.slice(2);
  const inner = k * numel(spatialOut);
  const h = reshape(permute(reshape(hc, [N, m, inner]), [1, 0, 2]), [m, N * inner]);
  const yc = matmul(scaleTensor(w1, scale), h); // [l, N·inner]
  const y = reshape(permute(reshape(yc, [l, N, inner]), [1, 0, 2]), [N, l * k, ...spatialOut]);
  return { y, h, xr, spatialOut };
}

/**
 * The adapter's contribution to a layer's output (no bias): `linear(x, ΔW)` or `conv(x, ΔW)` with the
 * convolution options `conv` as given (the runtime layer passes the base layer's stride/padding/dilation/groups
 * with zero padding, PEFT's behaviour, or the base's padding mode when asked to; see `AdapterPadding`). ΔW is
 * as in {@link lokrDeltaWeight}. Rank dropout is not applied here: the runtime layer masks the output.
 *
 * When it needs fewer operations, the Kronecker product is never materialised: for Linear,
 * `Y = s · W1 · X · W2ᵀ` per token; for convolutions the input channels are split into `m` groups moved into the
 * batch, convolved with `w2`, and mixed with `w1` (a grouped convolution does this per group). PEFT's Conv1d
 * full-`lokr_w2` layout, and layers where the factors give no saving, use the materialised ΔW.
 *
 * @param x - Linear: `[..., in]`; conv1d: `[N, C, L]`; conv2d: `[N, C, H, W]`.
 * @param conv - The adapter path's convolution options (ignored for linear; default stride 1, padding 0).
 * @returns Linear: `[..., out]`; conv: `[N, out, ...spatial']`, in the array type of `x`.
 */
export function lokrForward<A extends FloatArray>(
  x: Tensor<A>,
  params: Readonly<Record<string, Tensor<A>>>,
  layer: LoKrLayerShape,
  scale: number,
  conv?: ConvOptions,
  o: LoKrForwardOptions = {},
): Tensor<A> {
  const s = resolveStructure(params, layer);
  const linear = layer.kind === "linear";
  const groups = linear ? 1 : (conv?.groups ?? layer.groups ?? 1);
  const path = choosePath(s, o, groups);
  let y: Tensor<A>;
  if (linear) {
    const x2 = flattenLinearInput(x, layer);
    let y2: Tensor<A>;
    if (path === "structured") {
      const w2 = reshape(rebuildW2(params, layer, s), [s.outFactors[1], s.inFactors[1]]);
      y2 = kronApply(x2, rebuildW1(params), w2, scale);
    } else {
      y2 = matmul(x2, lokrDeltaWeight(params, layer, scale, o), { transB: true });
    }
    y = reshape(y2, [...x.shape.slice(0, -1), layer.outFeatures]);
  } else {
    checkConvInput(x, layer, groups);
    if (path === "structured") {
      const w1 = rebuildW1(params);
      const w2 = rebuildW2(params, layer, s);
      y = selectGroupRows(structuredConvForward(x, w1, w2, scale, s, layer, conv).y, groups);
    } else {
      y = convFor(layer.kind)(x, lokrDeltaWeight(params, layer, scale, o), null, convOptions(layer, conv));
    }
  }
  return y;
}
