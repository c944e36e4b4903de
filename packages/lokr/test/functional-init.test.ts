import { createRng, fanIn } from "@lycoris-ts/kernels";
import { describe, expect, it } from "vitest";
import { initLoKrParams, type LoKrInitWeights, lokrDeltaWeight } from "../src/functional";
import { layerShapeOf, type ModelJson, readJson } from "./support/functional-fixtures";

interface InitParam {
  shape: number[];
  all_zero: boolean;
  fan_in: number;
  kaiming_uniform_bound: number;
}

interface InitJson {
  cases: {
    name: string;
    adapters: { peft_type: string; config: Record<string, unknown> }[];
    model: ModelJson;
    modules: Record<
      string,
      {
        kind: string;
        r: number;
        params: Record<string, InitParam>;
        zero_params: string[];
        delta_all_zero: boolean;
      }
    >;
  }[];
}

// Zero-ness is exact; the random values are only required to lie inside the Kaiming-uniform bound
// (`kaiming_uniform_bound` from init.json, = 1/sqrt(fan_in)), compared with a 1e-6 relative slack for
// float32 rounding of the bound itself.
describe("initLoKrParams against init.json", () => {
  const init = readJson<InitJson>("init.json");
  const cases = init.cases.filter((c) => c.adapters.every((a) => a.peft_type === "LOKR"));

  it("finds LoKr init cases", () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  for (const c of cases) {
    it(c.name, () => {
      const config = c.adapters[0]!.config;
      const initWeights = (config.init_weights ?? true) as LoKrInitWeights;
      const modules = new Map(c.model.modules.map((m) => [m.name, m]));
      const rng = createRng(1234);
      for (const [moduleName, expected] of Object.entries(c.modules)) {
        const layer = layerShapeOf(modules.get(moduleName)!);
        const options = {
          r: expected.r,
          decomposeBoth: (config.decompose_both as boolean | undefined) ?? false,
          decomposeFactor: (config.decompose_factor as number | undefined) ?? -1,
          useEffectiveConv2d: (config.use_effective_conv2d as boolean | undefined) ?? false,
        };
        const params = initLoKrParams(layer, options, initWeights, rng);
        expect(Object.keys(params), moduleName).toEqual(Object.keys(expected.params));
        const zeroNames: string[] = [];
        for (const [name, p] of Object.entries(expected.params)) {
          const t = params[name]!;
          expect([...t.shape], `${moduleName}.${name}`).toEqual(p.shape);
          expect(fanIn(p.shape), `${moduleName}.${name} fan-in`).toBe(p.fan_in);
          let maxAbs = 0;
          for (const v of t.data) maxAbs = Math.max(maxAbs, Math.abs(v));
          if (maxAbs === 0) zeroNames.push(name);
          expect(maxAbs === 0, `${moduleName}.${name} all zero`).toBe(p.all_zero);
          expect(maxAbs, `${moduleName}.${name} within bound`).toBeLessThanOrEqual(
            p.kaiming_uniform_bound * (1 + 1e-6),
          );
          if (!p.all_zero) {
            // a uniform draw over many values must come close to the bound; guards against a wrong fan-in
            expect(maxAbs, `${moduleName}.${name} uses the bound`).toBeGreaterThan(
              p.kaiming_uniform_bound * 0.3,
            );
          }
        }
        expect(zeroNames.sort()).toEqual([...expected.zero_params].sort());
        const delta = lokrDeltaWeight(params, layer, 1);
        expect(
          delta.data.every((v) => v === 0),
          `${moduleName} delta all zero`,
        ).toBe(expected.delta_all_zero);
      }
    });
  }
});
