import { type ConvOptions, conv1d, conv2d, createRng, tensor } from "@lycoris-ts/kernels";
import { describe, expect, it } from "vitest";
import {
  type LoHaLayerShape,
  LoHaMathError,
  lohaDeltaWeight,
  lohaForward,
  lohaLinearPath,
  lohaParamShapes,
} from "../src/functional/index";
import { maxRelErr } from "./support/fixtures";
import { naiveConv2d, naiveHadamardDelta, naiveLinear, naiveTucker } from "./support/naive";
import { randn64, randomParams64, toF32Params } from "./support/random";

// All comparisons here are float64 against naive float64 loops from the definitions: only summation
// order differs, so 1e-12·(1 + |e|) is ~10⁴ ulps of headroom for these small sums and still
// catches any indexing/transposition mistake (errors of order 1). The float32 check uses 1e-5
// (float32 epsilon 1.2e-7 times sums of ≤ 30 terms, with margin).

function get<T>(r: Record<string, T>, k: string): T {
  const v = r[k];
  if (v === undefined) throw new Error(`missing ${k}`);
  return v;
}

describe("lohaDeltaWeight vs naive definitions", () => {
  it("linear, different ranks for the two Hadamard terms", () => {
    const layer: LoHaLayerShape = { kind: "linear", outFeatures: 7, inFeatures: 11, kernelSize: [] };
    const rng = createRng(3);
    const p = {
      hada_w1_a: randn64([7, 3], rng),
      hada_w1_b: randn64([3, 11], rng),
      hada_w2_a: randn64([7, 2], rng),
      hada_w2_b: randn64([2, 11], rng),
    };
    const d = lohaDeltaWeight(p, layer, 0.75);
    const want = naiveHadamardDelta(
      p.hada_w1_a.data,
      p.hada_w1_b.data,
      p.hada_w2_a.data,
      p.hada_w2_b.data,
      7,
      11,
      3,
      2,
      0.75,
    );
    expect(d.shape).toEqual([7, 11]);
    expect(maxRelErr(d.data, want)).toBeLessThanOrEqual(1e-12);
  });
  for (const [kind, kernel] of [
    ["conv2d", [3, 2]],
    ["conv1d", [3]],
  ] as const) {
    it(`${kind} Tucker (effective conv) form`, () => {
      const layer: LoHaLayerShape = { kind, outFeatures: 5, inFeatures: 4, kernelSize: kernel };
      const layout = lohaParamShapes(layer, { r: 3, useEffectiveConv2d: true });
      expect(layout.structure.effectiveConv).toBe(true);
      const p = randomParams64(layout.params, 11);
      const d = lohaDeltaWeight(p, layer, 1.5);
      const kn = kernel.reduce((a, b) => a * b, 1);
      const t1 = naiveTucker(
        get(p, "hada_t1").data,
        get(p, "hada_w1_a").data,
        get(p, "hada_w1_b").data,
        3,
        5,
        4,
        kn,
      );
      const t2 = naiveTucker(
        get(p, "hada_t2").data,
        get(p, "hada_w2_a").data,
        get(p, "hada_w2_b").data,
        3,
        5,
        4,
        kn,
      );
      const want = t1.map((v, i) => 1.5 * v * (t2[i] ?? 0));
      expect(d.shape).toEqual([5, 4, ...kernel]);
      expect(maxRelErr(d.data, want)).toBeLessThanOrEqual(1e-12);
    });
  }
});

describe("lohaForward, linear", () => {
  const layer: LoHaLayerShape = { kind: "linear", outFeatures: 9, inFeatures: 13, kernelSize: [] };
  const layout = lohaParamShapes(layer, { r: 3, useEffectiveConv2d: false });
  const p = randomParams64(layout.params, 5);
  const x = randn64([2, 3, 13], createRng(6)); // leading dims are kept
  const delta = lohaDeltaWeight(p, layer, 0.5);
  const want = naiveLinear(x.data, delta.data, 6, 13, 9);

  for (const path of ["factorised", "materialised", "auto"] as const) {
    it(`${path} path equals linear(x, ΔW)`, () => {
      const y = lohaForward(x, p, layer, 0.5, undefined, { path });
      expect(y.shape).toEqual([2, 3, 9]);
      expect(maxRelErr(y.data, want)).toBeLessThanOrEqual(1e-12);
    });
  }
  it("float32 factors and input give float32 output close to the float64 result", () => {
    const y = lohaForward(tensor(new Float32Array(x.data), x.shape), toF32Params(p), layer, 0.5);
    expect(y.data).toBeInstanceOf(Float32Array);
    expect(maxRelErr(y.data, want)).toBeLessThanOrEqual(1e-5);
  });
  it("rejects an input whose last dim is not in_features", () => {
    expect(() => lohaForward(randn64([2, 12], createRng(1)), p, layer, 0.5)).toThrow(LoHaMathError);
  });
});

describe("lohaLinearPath", () => {
  it("prefers the factorised form for 4096², r = 8 at every batch size", () => {
    for (const n of [1, 8, 64, 4096]) expect(lohaLinearPath("auto", n, 4096, 4096, 8, 8)).toBe("factorised");
  });
  it("materialises when r² is large against the layer size", () => {
    expect(lohaLinearPath("auto", 64, 16, 16, 8, 8)).toBe("materialised");
  });
  it("passes an explicit choice through", () => {
    expect(lohaLinearPath("materialised", 1, 4096, 4096, 8, 8)).toBe("materialised");
  });
});

describe("lohaForward, convolutions (vs naive zero-padded convolution of ΔW)", () => {
  const cases: {
    name: string;
    layer: LoHaLayerShape;
    conv: ConvOptions;
    x: number[];
    effective: boolean;
  }[] = [
    {
      name: "conv2d stride 2, padding 1, dilation 2, groups 2",
      layer: { kind: "conv2d", outFeatures: 6, inFeatures: 3, kernelSize: [3, 2], groups: 2 },
      conv: { stride: [2, 1], padding: [1, 2], dilation: [2, 1], groups: 2, paddingMode: "zeros" },
      x: [2, 6, 7, 6],
      effective: false,
    },
    {
      name: "conv2d effective conv",
      layer: { kind: "conv2d", outFeatures: 5, inFeatures: 4, kernelSize: [3, 3] },
      conv: { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1, paddingMode: "zeros" },
      x: [2, 4, 5, 5],
      effective: true,
    },
    {
      name: "conv1d stride 2, padding 2",
      layer: { kind: "conv1d", outFeatures: 5, inFeatures: 4, kernelSize: [3] },
      conv: { stride: [2], padding: [2], dilation: [1], groups: 1, paddingMode: "zeros" },
      x: [3, 4, 9],
      effective: false,
    },
    {
      name: "conv1d effective conv, dilation 2",
      layer: { kind: "conv1d", outFeatures: 5, inFeatures: 4, kernelSize: [3] },
      conv: { stride: [1], padding: [1], dilation: [2], groups: 1, paddingMode: "zeros" },
      x: [2, 4, 8],
      effective: true,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const layout = lohaParamShapes(c.layer, { r: 2, useEffectiveConv2d: c.effective });
      expect(layout.structure.effectiveConv).toBe(c.effective);
      const p = randomParams64(layout.params, 21);
      const x = randn64(c.x, createRng(22));
      const delta = lohaDeltaWeight(p, c.layer, 1.25);
      const is1d = c.layer.kind === "conv1d";
      const ws = [delta.shape[0], delta.shape[1], delta.shape[2], is1d ? 1 : delta.shape[3]] as [
        number,
        number,
        number,
        number,
      ];
      const xs = [c.x[0], c.x[1], c.x[2], is1d ? 1 : c.x[3]] as [number, number, number, number];
      const g = {
        stride: [c.conv.stride[0] ?? 1, is1d ? 1 : (c.conv.stride[1] ?? 1)] as [number, number],
        padding: [
          (c.conv.padding as number[])[0] ?? 0,
          is1d ? 0 : ((c.conv.padding as number[])[1] ?? 0),
        ] as [number, number],
        dilation: [c.conv.dilation[0] ?? 1, is1d ? 1 : (c.conv.dilation[1] ?? 1)] as [number, number],
        groups: c.conv.groups,
      };
      const want = naiveConv2d(x.data, xs, delta.data, ws, g);
      const y = lohaForward(x, p, c.layer, 1.25, c.conv);
      expect(y.shape).toEqual(is1d ? want.shape.slice(0, 3) : want.shape);
      expect(maxRelErr(y.data, want.data)).toBeLessThanOrEqual(1e-12);
    });
  }
  for (const paddingMode of ["reflect", "replicate", "circular"] as const) {
    it(`pads with the padding mode of the conv options it is given (${paddingMode})`, () => {
      // The runtime layer decides the adapter path's padding (PEFT: zeros; opt-in: the base's mode) and
      // passes finished options; the math uses them as given. Reference: the kernels' convolution of the
      // materialised ΔW with the same options (float64; only summation order differs, hence 1e-12).
      for (const c of cases) {
        const conv = { ...c.conv, paddingMode };
        const p = randomParams64(
          lohaParamShapes(c.layer, { r: 2, useEffectiveConv2d: c.effective }).params,
          24,
        );
        const x = randn64(c.x, createRng(25));
        const delta = lohaDeltaWeight(p, c.layer, 0.75);
        const want = c.layer.kind === "conv1d" ? conv1d(x, delta, null, conv) : conv2d(x, delta, null, conv);
        const y = lohaForward(x, p, c.layer, 0.75, conv);
        expect(maxRelErr(y.data, want.data)).toBeLessThanOrEqual(1e-12);
        const zeroPadded = lohaForward(x, p, c.layer, 0.75, c.conv);
        expect(maxRelErr(y.data, zeroPadded.data)).toBeGreaterThan(1e-6);
      }
    });
  }
  it("needs the conv geometry", () => {
    const layer: LoHaLayerShape = { kind: "conv1d", outFeatures: 2, inFeatures: 2, kernelSize: [1] };
    const p = randomParams64(lohaParamShapes(layer, { r: 1, useEffectiveConv2d: false }).params, 1);
    expect(() => lohaForward(randn64([1, 2, 4], createRng(1)), p, layer, 1)).toThrow(/conv geometry/);
  });
});
