import { createRng, type Tensor } from "@lycoris-ts/kernels";
import { describe, expect, it } from "vitest";
import { lokrBackward, lokrForward, lokrParamShapes } from "../src/functional";
import { resolveStructure } from "../src/functional/factors";
import { choosePath } from "../src/functional/plan";
import { randomParams64, randomTensor64, structureCases } from "./support/functional-random";

describe("the structured path is used and never materialises kron(w1, w2)", () => {
  it("runs a 65536×65536 Linear whose ΔW (2^32 entries, 32 GiB in float64) could not be allocated", () => {
    // float64 throughout; checked against a direct sum over the factors for a few outputs.
    // Tolerance 1e-9 relative to the output scale: sums of 65536 products of values in [-1, 1].
    const layer = { kind: "linear", outFeatures: 65536, inFeatures: 65536, kernelSize: [] } as const;
    const options = { r: 4, decomposeBoth: false, decomposeFactor: -1, useEffectiveConv2d: false };
    const { structure } = lokrParamShapes(layer, options);
    expect(structure.w2).toBe("lowrank");
    const rng = createRng(3);
    const params = randomParams64({ label: "huge", layer, options, inputShape: [2, 65536] }, rng);
    const x = randomTensor64([2, 65536], rng);
    const s = 0.5;
    const y = lokrForward(x, params, layer, s);
    expect([...y.shape]).toEqual([2, 65536]);
    const [, k] = structure.outFactors;
    const [m, n] = structure.inFactors;
    const w1 = params.lokr_w1!.data;
    const a = params.lokr_w2_a!;
    const b = params.lokr_w2_b!;
    const r = a.shape[1]!;
    const w2 = (q: number, j: number) => {
      let acc = 0;
      for (let t = 0; t < r; t++) acc += a.data[q * r + t]! * b.data[t * n + j]!;
      return acc;
    };
    let scale = 0;
    for (const v of y.data) scale = Math.max(scale, Math.abs(v));
    for (const [row, o] of [
      [0, 0],
      [1, 12345],
      [0, 65535],
    ] as const) {
      const p = Math.floor(o / k);
      const q = o % k;
      let acc = 0;
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) acc += x.data[row * 65536 + i * n + j]! * w1[p * m + i]! * w2(q, j);
      expect(Math.abs(y.data[row * 65536 + o]! - s * acc) / scale).toBeLessThan(1e-9);
    }
  });

  it("chooses structured for ungrouped layers with real Kronecker structure, materialised otherwise", () => {
    const pick = (label: string, o = {}) => {
      const c = structureCases().find((k) => k.label.startsWith(label))!;
      const params = randomParams64(c, createRng(1));
      return choosePath(resolveStructure(params, c.layer), o, c.conv?.groups ?? 1);
    };
    expect(pick("linear full/lowrank")).toBe("structured");
    expect(pick("conv2d lowrank")).toBe("structured");
    expect(pick("conv2d tucker")).toBe("structured");
    expect(pick("conv1d tucker")).toBe("structured");
    expect(pick("conv2d groups 2 (materialised)")).toBe("materialised");
    expect(pick("conv2d groups 2 (structured")).toBe("structured");
    expect(pick("conv1d full")).toBe("materialised");
    expect(pick("conv1d full", { layout: "kronecker" })).toBe("structured");
    // l = m = 1 (prime dims): a Kronecker "product" with a 1×1 w1 gains nothing
    expect(pick("linear prime")).toBe("materialised");
  });

  it("rejects inputs and parameter sets that do not fit the layer, naming what is wrong", () => {
    const c = structureCases().find((k) => k.label.startsWith("conv2d lowrank"))!;
    const params = randomParams64(c, createRng(2));
    const x = randomTensor64(c.inputShape, createRng(3));
    const bad: Tensor<Float64Array> = {
      data: x.data,
      shape: [x.shape[0]!, x.shape[1]! / 2, x.shape[2]! * 2, x.shape[3]!],
    };
    expect(() => lokrForward(bad, params, c.layer, 1, c.conv)).toThrow(/input must be/);
    const { lokr_w2_b: _dropped, ...missing } = params;
    expect(() => lokrForward(x, missing, c.layer, 1, c.conv)).toThrow(/lokr_w2_b/);
    const wrongLayer = { ...c.layer, outFeatures: c.layer.outFeatures * 2 };
    expect(() => lokrBackward(x, params, wrongLayer, 1, x, c.conv)).toThrow(/the layer is/);
  });
});
