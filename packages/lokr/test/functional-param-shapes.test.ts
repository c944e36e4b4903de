import { describe, expect, it } from "vitest";
import { lokrNumParams, lokrParamShapes } from "../src/functional";
import {
  type AdapterConfigJson,
  type ExpectedJson,
  layerShapeOf,
  lokrCaseNames,
  type ModelJson,
  readJson,
  shapeOptionsOf,
} from "./support/functional-fixtures";

// Shapes, names, order and counts are integers and strings: compared exactly.
describe("lokrParamShapes against every LoKr fixture case", () => {
  const cases = lokrCaseNames();

  it("finds LoKr cases in index.json", () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  for (const name of cases) {
    it(name, () => {
      const expected = readJson<ExpectedJson>(`${name}/expected.json`);
      const model = readJson<ModelJson>(`${name}/model.json`);
      const modules = new Map(model.modules.map((m) => [m.name, m]));
      let checked = 0;
      for (const [moduleName, mod] of Object.entries(expected.modules)) {
        for (const [adapterName, a] of Object.entries(mod.adapters)) {
          if (a.peft_type !== "LOKR") continue;
          const config = readJson<AdapterConfigJson>(
            `${name}/${expected.adapter_files[adapterName]!.config}`,
          );
          const layer = layerShapeOf(modules.get(moduleName)!);
          const options = shapeOptionsOf(config, a.r);
          const got = lokrParamShapes(layer, options);
          const where = `${moduleName} / ${adapterName}`;
          expect(
            got.params.map(([n, s]) => [n, [...s]]),
            where,
          ).toEqual(Object.entries(a.params));
          expect({ w1: got.structure.w1, w2: got.structure.w2 }, where).toEqual(a.structure);
          expect({ out: [...got.structure.outFactors], in: [...got.structure.inFactors] }, where).toEqual(
            a.factorization,
          );
          expect(lokrNumParams(layer, options), where).toBe(a.num_params);
          expect([layer.outFeatures, layer.inFeatures, ...layer.kernelSize], where).toEqual(mod.weight_shape);
          checked += 1;
        }
      }
      expect(checked).toBeGreaterThan(0);
    });
  }

  it("rejects a non-positive rank and a kernel of the wrong rank", () => {
    const layer = { kind: "linear", outFeatures: 8, inFeatures: 8, kernelSize: [] } as const;
    const o = { r: 0, decomposeBoth: false, decomposeFactor: -1, useEffectiveConv2d: false };
    expect(() => lokrParamShapes(layer, o)).toThrow(/positive/);
    expect(() => lokrParamShapes({ ...layer, kind: "conv2d" }, { ...o, r: 1 })).toThrow(/kernelSize/);
  });
});
