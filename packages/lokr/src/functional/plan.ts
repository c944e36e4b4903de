import { type ConvOptions, type FloatArray, reshape, type Tensor } from "@lycoris-ts/kernels";
import { LoKrError } from "./errors";
import type { ResolvedStructure } from "./factors";
import type { ConvGeometry, LoKrForwardOptions, LoKrLayerShape } from "./types";

/** Internal: how the adapter output is computed. */
export type ApplyPath = "structured" | "materialised";

/**
 * Internal: picks the structured path (factors applied one at a time) when it is allowed and needs fewer
 * multiply-adds per output position than a dense product with the materialised ΔW. A grouped convolution runs
 * the structured path once per group (each group's input through all of ΔW's rows, then the group's own rows
 * are kept), so it pays `groups` times the structured cost.
 */
export function choosePath(s: ResolvedStructure, o: LoKrForwardOptions, groups: number): ApplyPath {
  if (s.peftConv1dQuirk && (o.layout ?? "peft") === "peft") return "materialised";
  const [l, k] = s.outFactors;
  const [m, n] = s.inFactors;
  const P = s.kernelNumel;
  const structured = groups * (m * k * n * P + l * m * k);
  const dense = l * k * m * n * P;
  return structured <= dense ? "structured" : "materialised";
}

/** Internal: the convolution options of the adapter path. */
export function convOptions(
  layer: LoKrLayerShape,
  conv: ConvGeometry | undefined,
  o: LoKrForwardOptions,
): ConvOptions {
  const spatial = layer.kernelSize.length;
  const ones = new Array<number>(spatial).fill(1);
  const g = conv ?? {
    stride: ones,
    padding: new Array<number>(spatial).fill(0),
    dilation: ones,
    groups: layer.groups ?? 1,
    paddingMode: "zeros" as const,
  };
  if (layer.groups !== undefined && g.groups !== layer.groups) {
    throw new LoKrError(`conv.groups (${g.groups}) differs from layer.groups (${layer.groups})`);
  }
  return {
    stride: g.stride,
    padding: g.padding,
    dilation: g.dilation,
    groups: g.groups,
    paddingMode: (o.adapterPadding ?? "zeros") === "base" ? g.paddingMode : "zeros",
  };
}

/** Internal: checks a linear input `[..., in]` and views it as `[N, in]`. */
export function flattenLinearInput<A extends FloatArray>(x: Tensor<A>, layer: LoKrLayerShape): Tensor<A> {
  const last = x.shape[x.shape.length - 1];
  if (x.shape.length < 1 || last !== layer.inFeatures) {
    throw new LoKrError(`linear input must be [..., ${layer.inFeatures}], got [${x.shape.join(", ")}]`);
  }
  return reshape(x, [x.data.length / layer.inFeatures, layer.inFeatures]);
}

/** Internal: checks a convolution input `[N, C, ...spatial]`. */
export function checkConvInput<A extends FloatArray>(
  x: Tensor<A>,
  layer: LoKrLayerShape,
  groups: number,
): void {
  const spatial = layer.kernelSize.length;
  const channels = layer.inFeatures * groups;
  if (x.shape.length !== 2 + spatial || x.shape[1] !== channels) {
    throw new LoKrError(
      `${layer.kind} input must be [N, ${channels}${", ·".repeat(spatial)}], got [${x.shape.join(", ")}]`,
    );
  }
}

/**
 * Internal: multiplies output channel `c` of `y` (`[..., out]` for linear, `[N, out, ...spatial]` for conv) by
 * `mask[c]`, in place.
 */
export function applyRowMask<A extends FloatArray>(y: Tensor<A>, mask: Float32Array, linear: boolean): void {
  const d = y.data;
  if (linear) {
    const out = y.shape[y.shape.length - 1]!;
    if (out !== mask.length)
      throw new LoKrError(`rowMask has ${mask.length} entries, the layer has ${out} outputs`);
    for (let i = 0; i < d.length; i++) d[i] = d[i]! * mask[i % out]!;
    return;
  }
  const out = y.shape[1]!;
  if (out !== mask.length)
    throw new LoKrError(`rowMask has ${mask.length} entries, the layer has ${out} outputs`);
  const inner = y.shape.slice(2).reduce((a, b) => a * b, 1);
  for (let i = 0; i < d.length; i++) d[i] = d[i]! * mask[Math.floor(i / inner) % out]!;
}

/** Internal: a copy of `t` with output channels masked (see {@link applyRowMask}). */
export function maskedCopy<A extends FloatArray>(
  t: Tensor<A>,
  mask: Float32Array | null | undefined,
  linear: boolean,
): Tensor<A> {
  if (mask === null || mask === undefined) return t;
  const copy = { data: t.data.slice() as A, shape: t.shape };
  applyRowMask(copy, mask, linear);
  return copy;
}

/**
 * Internal: from the per-group structured output `yAll [N·G, out, ...S']` (group `g`'s input through all rows of
 * ΔW) keeps, for each output channel `o`, the entry of its own group `⌊o / (out/G)⌋`: `y [N, out, ...S']`.
 */
export function selectGroupRows<A extends FloatArray>(yAll: Tensor<A>, groups: number): Tensor<A> {
  if (groups === 1) return yAll;
  const N = yAll.shape[0]! / groups;
  const out = yAll.shape[1]!;
  const inner = yAll.shape.slice(2).reduce((a, b) => a * b, 1);
  const perGroup = out / groups;
  const src = yAll.data;
  const dst = (
    src instanceof Float64Array ? new Float64Array(N * out * inner) : new Float32Array(N * out * inner)
  ) as A;
  for (let b = 0; b < N; b++) {
    for (let c = 0; c < out; c++) {
      const g = Math.floor(c / perGroup);
      const from = ((b * groups + g) * out + c) * inner;
      dst.set(src.subarray(from, from + inner), (b * out + c) * inner);
    }
  }
  return { data: dst, shape: [N, ...yAll.shape.slice(1)] };
}

/** Internal: the adjoint of {@link selectGroupRows}: scatters `dy [N, out, ...S']` into zeros `[N·G, out, ...S']`. */
export function expandGroupRows<A extends FloatArray>(dy: Tensor<A>, groups: number): Tensor<A> {
  if (groups === 1) return dy;
  const N = dy.shape[0]!;
  const out = dy.shape[1]!;
  const inner = dy.shape.slice(2).reduce((a, b) => a * b, 1);
  const perGroup = out / groups;
  const src = dy.data;
  const dst = (
    src instanceof Float64Array
      ? new Float64Array(N * groups * out * inner)
      : new Float32Array(N * groups * out * inner)
  ) as A;
  for (let b = 0; b < N; b++) {
    for (let c = 0; c < out; c++) {
      const g = Math.floor(c / perGroup);
      const from = (b * out + c) * inner;
      dst.set(src.subarray(from, from + inner), ((b * groups + g) * out + c) * inner);
    }
  }
  return { data: dst, shape: [N * groups, ...dy.shape.slice(1)] };
}
