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
import { type LoKrLayerShape, lokrDeltaWeight, lokrDeltaWeightSvd } from "../src/functional";
import { lokrSvdPath } from "../src/functional/delta-weight-svd";
import { resolveStructure } from "../src/functional/factors";
import {
  type ExpectedJson,
  fixturesDir,
  layerShapeOf,
  type ModelJson,
  readJson,
} from "./support/functional-fixtures";
import { randomParams64, seeded, structureCases } from "./support/functional-random";

const tools: SvdTools = { svd, readSafetensorsSync, selectLoraRank, loraFactors };

function paramsOf(
  file: Map<string, Tensor<Float32Array>>,
  module: string,
): Record<string, Tensor<Float32Array>> {
  const prefix = `base_model.model.${module}.`;
  const out: Record<string, Tensor<Float32Array>> = {};
  for (const [key, t] of file) if (key.startsWith(prefix)) out[key.slice(prefix.length)] = t;
  return out;
}

/** One fixtures/peft LoKr case: per (adapter, module) its parameters, layer and scaling, and PEFT's ΔW. */
function loadCase(name: string) {
  const expected = readJson<ExpectedJson>(`${name}/expected.json`);
  const model = readJson<ModelJson>(`${name}/model.json`);
  const layers = new Map(model.modules.map((m) => [m.name, m]));
  const numbers = readSafetensorsSync(`${fixturesDir}${name}/expected.safetensors`).tensors;
  const files = new Map(
    expected.adapters.map((a) => [
      a,
      readSafetensorsSync(`${fixturesDir}${name}/${expected.adapter_files[a]!.weights}`).tensors,
    ]),
  );
  return {
    expected,
    module(adapter: string, module: string) {
      const layer = layerShapeOf(layers.get(module)!);
      const delta = numbers.get(`delta/${adapter}/${module}`)!;
      return {
        params: paramsOf(files.get(adapter)!, module),
        layer,
        scaling: expected.modules[module]!.adapters[adapter]!.scaling,
        peftDelta: reshape(delta, [layer.outFeatures, delta.data.length / layer.outFeatures]),
      };
    },
  };
}

describeLoraConversionFixtures("LOKR", tools, (name) => {
  const source = loadCase(name);
  return (adapter, module, path) => {
    const { params, layer, scaling } = source.module(adapter, module);
    return lokrDeltaWeightSvd(params, layer, scaling, { path });
  };
});

function flat(delta: Tensor<Float64Array>, layer: LoKrLayerShape): Tensor<Float64Array> {
  return reshape(delta, [layer.outFeatures, delta.data.length / layer.outFeatures]);
}

describe("LoKr SVD of ΔW against a full float64 SVD of the materialised ΔW", () => {
  // Every structure (full / low-rank / Tucker factors, linear, conv1d with PEFT's permuted layout, conv2d,
  // groups), both scale signs, both layouts; tolerances in test-support/lora-conversion.ts.
  for (const [i, c] of structureCases().entries()) {
    for (const layout of ["peft", "kronecker"] as const) {
      it(`${c.label} (${layout} layout)`, () => {
        const params = randomParams64(c, seeded(100 + i));
        const scale = i % 2 === 0 ? -0.7 : 1.3;
        const delta = flat(lokrDeltaWeight(params, c.layer, scale, { layout }), c.layer);
        let ranks = 0;
        for (const path of SVD_PATHS) {
          const lazy = lokrDeltaWeightSvd(params, c.layer, scale, { layout, path });
          ranks += expectMatchesFullSvd(tools, lazy, delta, `${c.label} ${path}`);
        }
        expect(ranks).toBeGreaterThan(0);
      });
    }
  }

  it("LoKr conv layers of fixtures/peft (refused by PEFT): PEFT's own ΔW, decomposed in float64", () => {
    const convCases = [
      "lokr-conv2d-full",
      "lokr-conv2d-lowrank",
      "lokr-conv2d-effective",
      "lokr-conv2d-stride-dilation",
      "lokr-conv2d-groups",
      "lokr-conv1d-full",
      "lokr-conv1d-lowrank",
      "lokr-conv1d-effective",
      "lokr-mixed-kinds",
    ];
    let checked = 0;
    for (const name of convCases) {
      const source = loadCase(name);
      for (const [m, mod] of Object.entries(source.expected.modules)) {
        if (mod.kind === "linear") continue;
        for (const adapter of Object.keys(mod.adapters)) {
          const { params, layer, scaling, peftDelta } = source.module(adapter, m);
          const lazy = lokrDeltaWeightSvd(params, layer, scaling, { path: "structured" });
          checked += expectMatchesPeftDelta(tools, lazy, peftDelta, `${name} ${m}`);
        }
      }
    }
    expect(checked).toBeGreaterThan(10);
  });
});

describe("lokrSvdPath", () => {
  const full = (l: number, m: number, k: number, n: number) => {
    const layer: LoKrLayerShape = { kind: "linear", outFeatures: l * k, inFeatures: m * n, kernelSize: [] };
    const z = (r: number, c: number) => ({ data: new Float32Array(r * c), shape: [r, c] });
    const params = { lokr_w1: z(l, m), lokr_w2: z(k, n) };
    return { params, s: resolveStructure(params, layer) };
  };
  it("materialises tiny layers, uses the factor SVDs otherwise, passes explicit choices", () => {
    const tiny = full(2, 2, 2, 2);
    expect(lokrSvdPath(tiny.params, tiny.s, "auto")).toBe("materialised");
    const mid = full(8, 8, 8, 8);
    expect(lokrSvdPath(mid.params, mid.s, undefined)).toBe("structured");
    const big = full(64, 64, 64, 64);
    expect(lokrSvdPath(big.params, big.s, "auto")).toBe("structured");
    expect(lokrSvdPath(big.params, big.s, "materialised")).toBe("materialised");
    expect(lokrSvdPath(tiny.params, tiny.s, "structured")).toBe("structured");
  });
});
