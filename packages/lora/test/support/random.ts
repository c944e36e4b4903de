// Test-only: seeded float64 parameters and inputs for the LoRA functions.
import { createRng, type Rng, type Tensor } from "@lycoris-ts/kernels";
import type { LoraConvGeometry, LoraLayerShape } from "../../src/functional";
import { loraParamShapes } from "../../src/functional";

export function seeded(seed: number): Rng {
  return createRng(seed);
}

export function randomTensor64(shape: readonly number[], rng: Rng): Tensor<Float64Array> {
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: Float64Array.from({ length: n }, () => rng.normal()), shape: [...shape] };
}

/** Token ids in [0, n), stored as floats (the runtime's convention). */
export function randomIds64(shape: readonly number[], n: number, rng: Rng): Tensor<Float64Array> {
  const size = shape.reduce((a, b) => a * b, 1);
  return {
    data: Float64Array.from({ length: size }, () => Math.floor(rng.uniform() * n)),
    shape: [...shape],
  };
}

export interface RandomCase {
  readonly label: string;
  readonly layer: LoraLayerShape;
  readonly r: number;
  readonly inputShape: readonly number[];
  readonly conv?: LoraConvGeometry;
}

function convOf(
  stride: number[],
  padding: number[] | "same",
  dilation: number[],
  groups: number,
): LoraConvGeometry {
  return { stride, padding, dilation, groups, paddingMode: "zeros" };
}

/** One case per layer kind and conv feature (stride, padding, groups, unbatched input, "same"). */
export const CASES: readonly RandomCase[] = [
  { label: "linear, 3-D input", layer: dense("linear", 4, 5), r: 3, inputShape: [2, 3, 5] },
  { label: "GPT-2 Conv1D", layer: dense("gpt2_conv1d", 7, 6), r: 2, inputShape: [4, 6] },
  {
    label: "conv1d, stride 2, padding 1, groups 2",
    layer: { kind: "conv1d", outFeatures: 6, inFeatures: 4, kernelSize: [3], groups: 2 },
    r: 4,
    inputShape: [2, 4, 9],
    conv: convOf([2], [1], [1], 2),
  },
  {
    label: "conv2d 3×2, stride [1, 2], padding [1, 0]",
    layer: { kind: "conv2d", outFeatures: 4, inFeatures: 3, kernelSize: [3, 2], groups: 1 },
    r: 2,
    inputShape: [2, 3, 6, 5],
    conv: convOf([1, 2], [1, 0], [1, 1], 1),
  },
  {
    label: "conv2d unbatched, padding 'same'",
    layer: { kind: "conv2d", outFeatures: 3, inFeatures: 2, kernelSize: [3, 3], groups: 1 },
    r: 2,
    inputShape: [2, 5, 4],
    conv: convOf([1, 1], "same", [1, 1], 1),
  },
  { label: "embedding", layer: dense("embedding", 5, 7), r: 3, inputShape: [2, 4] },
];

function dense(kind: "linear" | "gpt2_conv1d" | "embedding", out: number, inF: number): LoraLayerShape {
  return { kind, outFeatures: out, inFeatures: inF, kernelSize: [], groups: 1 };
}

export function randomParams64(c: RandomCase, rng: Rng): Record<string, Tensor<Float64Array>> {
  return Object.fromEntries(loraParamShapes(c.layer, c.r).map(([n, s]) => [n, randomTensor64(s, rng)]));
}

export function randomInput64(c: RandomCase, rng: Rng): Tensor<Float64Array> {
  return c.layer.kind === "embedding"
    ? randomIds64(c.inputShape, c.layer.inFeatures, rng)
    : randomTensor64(c.inputShape, rng);
}
