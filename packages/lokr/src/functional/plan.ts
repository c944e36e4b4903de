import {
  type ConvOptions,
  type FloatArray,
  formatShape,
  numel,
  reshape,
  type Tensor,
} from "@lycoris-ts/kernels";
import { LoKrError } from "./errors";
import type { ResolvedStructure } from "./factors";
import type { LoKrDeltaOptions, LoKrLayerShape } from "./types";

/** Internal: how the adapter output is computed. */
export type ApplyPath = "structured" | "materialised";

/**
 * Internal: picks the structured path (factors applied one at a time) when it is allowed and needs fewer
 * multiply-adds per output position than a dense product with the materialised ΔW. A grouped convolution runs
 * the structured path once per group (each group's input through all of ΔW's rows, then the group's own rows
 * are kept), so it pays `groups` times the structured cost.
 */
export function choosePath(s: ResolvedStructure, o: LoKrDeltaOptions, groups: number): ApplyPath {
  if (s.peftConv1dQuirk && (o.layout ?? "peft") === "peft") return "materialised";
  const [l, k] = s.outFactors;
  const [m, n] = s.inFactors;
  const P = s.kernelNumel;
  const structured = groups * (m * k * n * P + l * m * k);
  const dense = l * k * m * n * P;
  return structured <= dense ? "structured" : "materialised";
}

/**
 * Internal: the convolution options of the adapter path. `conv` arrives finished (the runtime layer has
 * already chosen the padding mode, see `AdapterPadding`) and is used as given; without one, stride 1,
 * no padding, the layer's groups.
 */
export function convOptions(layer: LoKrLayerShape, conv: ConvOptions | undefined): ConvOptions {
  if (conv === undefined) {
    const ones = new Array<number>(layer.kernelSize.length).fill(1);
    return {
      stride: ones,
      padding: new Array<number>(layer.kernelSize.length).fill(0),
      dilation: ones,
      groups: layer.groups ?? 1,
      paddingMode: "zeros",
    };
  }
  if (layer.groups !== undefined && conv.groups !== layer.groups) {
    throw new LoKrError(
      "invalid_layer",
      `conv.groups (${conv.groups}) differs from layer.groups (${layer.groups})`,
      { field: "conv.groups", expected: String(layer.groups), received: String(conv.groups) },
    );
  }
  return conv;
}

/** Internal: checks a linear input `[..., in]` and views it as `[N, in]`. */
export function flattenLinearInput<A extends FloatArray>(x: Tensor<A>, layer: LoKrLayerShape): Tensor<A> {
  const last = x.shape[x.shape.length - 1];
  if (x.shape.length < 1 || last !== layer.inFeatures) {
    const want = `[..., ${layer.inFeatures}]`;
    throw new LoKrError("shape_mismatch", `linear input must be ${want}, got ${formatShape(x.shape)}`, {
      field: "x",
      expected: want,
      received: formatShape(x.shape),
    });
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
    const want = `[N, ${channels}${", ·".repeat(spatial)}]`;
    throw new LoKrError(
      "shape_mismatch",
      `${layer.kind} input must be ${want}, got ${formatShape(x.shape)}`,
      {
        field: "x",
        expected: want,
        received: formatShape(x.shape),
      },
    );
  }
}

/**
 * Internal: from the per-group structured output `yAll [N·G, out, ...S']` (group `g`'s input through all rows of
 * ΔW) keeps, for each output channel `o`, the entry of its own group `⌊o / (out/G)⌋`: `y [N, out, ...S']`.
 */
export function selectGroupRows<A extends FloatArray>(yAll: Tensor<A>, groups: number): Tensor<A> {
  if (groups === 1) return yAll;
  const N = yAll.shape[0]! / groups;
  const out = yAll.shape[1]!;
  const inner = numel(yAll.shape.slice(2));
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
  const inner = numel(dy.shape.slice(2));
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
