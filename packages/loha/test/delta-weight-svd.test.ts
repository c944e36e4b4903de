import { reshape, svd, type Tensor } from "@lycoris-ts/kernels";
import { loraFactors, selectLoraRank } from "@lycoris-ts/runtime";
import { readSafetensorsSync } from "@lycoris-ts/safetensors";
import { describe, expect, it } from "vitest";
import {
  describeLoraConversionFixtures,
  expectMatchesFullSvd,
  expectMatchesPeftDelta,
  SVD_PATHS,
  type SvdTools,
} from "../../../test-support/lora-conversion";
import { lohaSvdPath } from "../src/functional/delta-weight-svd";
import {
  type LoHaLayerShape,
  LoHaMathError,
  lohaDeltaWeight,
  lohaDeltaWeightSvd,
  lohaParamShapes,
} from "../src/functional/index";
import { layerShapeOf, loadCase } from "./support/fixtures";
import { randomParams64 } from "./support/random";

const tools: SvdTools = { svd, readSafetensorsSync, selectLoraRank, loraFactors };

const flat = <A extends Float32Array | Float64Array>(t: Tensor<A>, layer: LoHaLayerShape): Tensor<A> =>
  reshape(t, [layer.outFeatures, t.data.length / layer.outFeatures]);

describeLoraConversionFixtures("LOHA", tools, (name) => {
  const source = loadCase(name);
  return (adapter, module, path) => {
    const scaling = source.expected.modules[module]!.adapters[adapter]!.scaling;
    return lohaDeltaWeightSvd(source.factors(adapter, module), layerShapeOf(source.module(module)), scaling, {
      path,
    });
  };
});

describe("LoHa SVD of ΔW against a full float64 SVD of the materialised ΔW", () => {
  // Linear and conv layers, the Tucker form, different ranks of the two terms, r1·r2 ≥ min(out, in), both
  // scale signs; tolerances in test-support/lora-conversion.ts.
  const cases: { label: string; layer: LoHaLayerShape; r: number; tucker?: boolean; r2?: number }[] = [
    { label: "linear r=2", layer: { kind: "linear", outFeatures: 20, inFeatures: 14, kernelSize: [] }, r: 2 },
    {
      label: "linear r=3, wide",
      layer: { kind: "linear", outFeatures: 12, inFeatures: 40, kernelSize: [] },
      r: 3,
    },
    {
      label: "linear r1=2, r2=3 (different ranks)",
      layer: { kind: "linear", outFeatures: 16, inFeatures: 18, kernelSize: [] },
      r: 2,
      r2: 3,
    },
    {
      label: "linear r=4: r² ≥ min(out, in), decomposed directly",
      layer: { kind: "linear", outFeatures: 10, inFeatures: 9, kernelSize: [] },
      r: 4,
    },
    {
      label: "conv2d 3×3",
      layer: { kind: "conv2d", outFeatures: 12, inFeatures: 4, kernelSize: [3, 3] },
      r: 2,
    },
    {
      label: "conv2d groups 2",
      layer: { kind: "conv2d", outFeatures: 16, inFeatures: 3, kernelSize: [3, 2], groups: 2 },
      r: 2,
    },
    { label: "conv1d k=5", layer: { kind: "conv1d", outFeatures: 14, inFeatures: 6, kernelSize: [5] }, r: 3 },
    {
      label: "conv2d Tucker (effective conv)",
      layer: { kind: "conv2d", outFeatures: 18, inFeatures: 10, kernelSize: [3, 3] },
      r: 2,
      tucker: true,
    },
    {
      label: "conv1d Tucker (effective conv)",
      layer: { kind: "conv1d", outFeatures: 16, inFeatures: 8, kernelSize: [3] },
      r: 3,
      tucker: true,
    },
  ];
  for (const [i, c] of cases.entries()) {
    it(c.label, () => {
      let layout = lohaParamShapes(c.layer, { r: c.r, useEffectiveConv2d: c.tucker ?? false }).params;
      if (c.r2 !== undefined) {
        const other = lohaParamShapes(c.layer, { r: c.r2, useEffectiveConv2d: false }).params;
        layout = layout.map(([name, shape]) =>
          name.startsWith("hada_w2") ? (other.find(([n]) => n === name) ?? [name, shape]) : [name, shape],
        );
      }
      const params = randomParams64(layout, 500 + i);
      const scale = i % 2 === 0 ? 0.8 : -1.7;
      const delta = flat(lohaDeltaWeight(params, c.layer, scale), c.layer);
      let ranks = 0;
      for (const path of SVD_PATHS) {
        const lazy = lohaDeltaWeightSvd(params, c.layer, scale, { path });
        ranks += expectMatchesFullSvd(tools, lazy, delta, `${c.label} ${path}`);
      }
      expect(ranks).toBeGreaterThan(0);
    });
  }

  it("LoHa conv layers of fixtures/peft (refused by PEFT): PEFT's own ΔW, decomposed in float64", () => {
    let checked = 0;
    for (const name of [
      "loha-conv2d",
      "loha-conv2d-effective",
      "loha-conv1d",
      "loha-conv1d-effective",
      "loha-conv2d-groups",
    ]) {
      const source = loadCase(name);
      for (const [m, mod] of Object.entries(source.expected.modules)) {
        if (mod.kind === "linear") continue;
        const layer = layerShapeOf(source.module(m));
        for (const [adapter, a] of Object.entries(mod.adapters)) {
          const lazy = lohaDeltaWeightSvd(source.factors(adapter, m), layer, a.scaling, {
            path: "structured",
          });
          const peftDelta = flat(source.expectedTensor(`delta/${adapter}/${m}`), layer);
          checked += expectMatchesPeftDelta(tools, lazy, peftDelta, `${name} ${m}`);
        }
      }
    }
    expect(checked).toBeGreaterThan(5);
  });

  it("refuses factors that do not fit the layer with LoHaMathError", () => {
    const layer: LoHaLayerShape = { kind: "linear", outFeatures: 6, inFeatures: 5, kernelSize: [] };
    const params = randomParams64(lohaParamShapes(layer, { r: 2, useEffectiveConv2d: false }).params, 1);
    expect(() => lohaDeltaWeightSvd(params, { ...layer, inFeatures: 4 }, 1)).toThrow(LoHaMathError);
  });
});

describe("lohaSvdPath", () => {
  it("materialises tiny layers and r² ≥ min(out, in); factorises large ones; passes explicit choices", () => {
    expect(lohaSvdPath("auto", 8, 8, 2, 2)).toBe("materialised");
    expect(lohaSvdPath(undefined, 64, 64, 8, 8)).toBe("materialised");
    expect(lohaSvdPath("auto", 512, 512, 8, 8)).toBe("structured");
    expect(lohaSvdPath("auto", 4096, 4096, 8, 8)).toBe("structured");
    expect(lohaSvdPath("structured", 8, 8, 2, 2)).toBe("structured");
    expect(lohaSvdPath("materialised", 4096, 4096, 8, 8)).toBe("materialised");
  });
});
