// Test-only: seeded random LoKr layers, parameters and inputs for the property and gradient tests.
import { type ConvOptions, createRng, type Rng, type Tensor, toFloat64 } from "@lycoris-ts/kernels";
import {
  initLoKrParams,
  type LoKrLayerShape,
  type LoKrShapeOptions,
  lokrParamShapes,
} from "../../src/functional";

export interface RandomCase {
  readonly label: string;
  readonly layer: LoKrLayerShape;
  readonly options: LoKrShapeOptions;
  readonly conv?: ConvOptions;
  /** Input shape (linear: leading dims + in; conv: [N, C, ...spatial]). */
  readonly inputShape: readonly number[];
}

export function randomTensor64(shape: readonly number[], rng: Rng): Tensor<Float64Array> {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.uniform() * 2 - 1;
  return { data, shape };
}

/** All-random (init_weights=false) parameters, in float64. */
export function randomParams64(c: RandomCase, rng: Rng): Record<string, Tensor<Float64Array>> {
  const p = initLoKrParams(c.layer, c.options, false, rng);
  const out: Record<string, Tensor<Float64Array>> = {};
  for (const [k, v] of Object.entries(p)) out[k] = toFloat64(v);
  return out;
}

const opts = (r: number, decomposeBoth = false, decomposeFactor = -1, useEffectiveConv2d = false) => ({
  r,
  decomposeBoth,
  decomposeFactor,
  useEffectiveConv2d,
});

const geom = (
  stride: number[],
  padding: number[] | "same" | "valid",
  dilation: number[],
  groups = 1,
  paddingMode: ConvOptions["paddingMode"] = "zeros",
): ConvOptions => ({ stride, padding, dilation, groups, paddingMode });

/** A fixed list of small cases covering every structure, kind and conv geometry feature. */
export function structureCases(): RandomCase[] {
  const cases: RandomCase[] = [
    {
      label: "linear full/full",
      layer: { kind: "linear", outFeatures: 12, inFeatures: 8, kernelSize: [] },
      options: opts(8),
      inputShape: [2, 3, 8],
    },
    {
      label: "linear full/lowrank",
      layer: { kind: "linear", outFeatures: 24, inFeatures: 20, kernelSize: [] },
      options: opts(1),
      inputShape: [5, 20],
    },
    {
      label: "linear lowrank/lowrank (decompose_both, factor 2)",
      layer: { kind: "linear", outFeatures: 32, inFeatures: 24, kernelSize: [] },
      options: opts(1, true, 8),
      inputShape: [3, 24],
    },
    {
      label: "linear prime dims",
      layer: { kind: "linear", outFeatures: 7, inFeatures: 5, kernelSize: [] },
      options: opts(2),
      inputShape: [4, 5],
    },
    {
      label: "conv2d full w2, padding 1",
      layer: { kind: "conv2d", outFeatures: 8, inFeatures: 6, kernelSize: [3, 3] },
      options: opts(8),
      conv: geom([1, 1], [1, 1], [1, 1]),
      inputShape: [2, 6, 5, 5],
    },
    {
      label: "conv2d lowrank w2, stride 2, dilation 2",
      layer: { kind: "conv2d", outFeatures: 16, inFeatures: 16, kernelSize: [3, 2] },
      options: opts(1),
      conv: geom([2, 1], [2, 1], [2, 1]),
      inputShape: [2, 16, 7, 6],
    },
    {
      label: "conv2d tucker, decompose_both",
      layer: { kind: "conv2d", outFeatures: 16, inFeatures: 12, kernelSize: [3, 3] },
      options: opts(1, true, -1, true),
      conv: geom([1, 2], [1, 0], [1, 1]),
      inputShape: [2, 12, 6, 7],
    },
    {
      label: "conv2d 1x1 lowrank",
      layer: { kind: "conv2d", outFeatures: 12, inFeatures: 16, kernelSize: [1, 1] },
      options: opts(1, false, -1, true),
      conv: geom([1, 1], [0, 0], [1, 1]),
      inputShape: [2, 16, 3, 3],
    },
    {
      label: "conv2d groups 2 (materialised)",
      layer: { kind: "conv2d", outFeatures: 8, inFeatures: 4, kernelSize: [3, 3], groups: 2 },
      options: opts(1),
      conv: geom([1, 1], [1, 1], [1, 1], 2),
      inputShape: [2, 8, 5, 4],
    },
    {
      label: "conv2d groups 2 (structured per group), stride 2",
      layer: { kind: "conv2d", outFeatures: 16, inFeatures: 16, kernelSize: [3, 3], groups: 2 },
      options: opts(1),
      conv: geom([2, 2], [1, 1], [1, 1], 2),
      inputShape: [2, 32, 5, 6],
    },
    {
      label: "conv2d padding same",
      layer: { kind: "conv2d", outFeatures: 9, inFeatures: 8, kernelSize: [3, 3] },
      options: opts(1),
      conv: geom([1, 1], "same", [1, 1]),
      inputShape: [1, 8, 4, 5],
    },
    {
      label: "conv1d full 3-D w2 (PEFT layout quirk)",
      layer: { kind: "conv1d", outFeatures: 8, inFeatures: 6, kernelSize: [3] },
      options: opts(4),
      conv: geom([1], [1], [1]),
      inputShape: [2, 6, 7],
    },
    {
      label: "conv1d lowrank, stride 2",
      layer: { kind: "conv1d", outFeatures: 16, inFeatures: 24, kernelSize: [5] },
      options: opts(1),
      conv: geom([2], [2], [1]),
      inputShape: [2, 24, 11],
    },
    {
      label: "conv1d tucker, dilation 2",
      layer: { kind: "conv1d", outFeatures: 12, inFeatures: 16, kernelSize: [3] },
      options: opts(1, false, -1, true),
      conv: geom([1], [2], [2]),
      inputShape: [2, 16, 9],
    },
  ];
  return cases;
}

export function seeded(seed: number): Rng {
  return createRng(seed);
}

export function structureOf(c: RandomCase): string {
  const s = lokrParamShapes(c.layer, c.options).structure;
  return `${s.w1}/${s.w2}`;
}
