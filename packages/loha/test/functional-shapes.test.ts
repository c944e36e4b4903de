import { describe, expect, it } from "vitest";
import {
  LoHaMathError,
  lohaBaseWeightShape,
  lohaParamShapes,
  lohaUsesEffectiveConv,
} from "../src/functional/index";
import { layerShapeOf, loadCase, lohaCaseNames, readJson } from "./support/fixtures";

// Shapes, structure and counts are integers: they must match PEFT exactly (no tolerance).

describe("lohaParamShapes vs every LoHa fixture case", () => {
  const names = lohaCaseNames();
  it("finds the LoHa cases", () => {
    expect(names.length).toBeGreaterThanOrEqual(10);
  });
  for (const name of names) {
    it(name, () => {
      const c = loadCase(name);
      let checked = 0;
      for (const [moduleName, mod] of Object.entries(c.expected.modules)) {
        const layer = layerShapeOf(c.module(moduleName));
        expect(lohaBaseWeightShape(layer)).toEqual(mod.weight_shape);
        for (const [adapter, exp] of Object.entries(mod.adapters)) {
          if (exp.peft_type !== "LOHA") continue;
          const cfg = c.adapterConfig(adapter);
          const layout = lohaParamShapes(layer, {
            r: exp.r,
            useEffectiveConv2d: cfg.use_effective_conv2d === true,
          });
          // Order matters (PEFT attribute order), so compare entries, not a set.
          expect(layout.params.map(([n, s]) => [n, [...s]])).toEqual(Object.entries(exp.params));
          expect(layout.structure.effectiveConv).toBe(exp.structure.effective_conv);
          const count = layout.params.reduce((acc, [, s]) => acc + s.reduce((a, d) => a * d, 1), 0);
          expect(count).toBe(exp.num_params);
          // The saved adapter file holds exactly these tensors with these shapes.
          const saved = c.factors(adapter, moduleName);
          expect(Object.keys(saved).sort()).toEqual(Object.keys(exp.params).sort());
          for (const [n, s] of layout.params) expect(saved[n]?.shape).toEqual(s);
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(0);
    });
  }
});

interface InitJson {
  cases: {
    name: string;
    adapters: { peft_type: string; config: Record<string, unknown> }[];
    model: { modules: Parameters<typeof layerShapeOf>[0][] };
    modules: Record<string, { r: number; params: Record<string, { shape: number[] }> }>;
  }[];
}

describe("lohaParamShapes vs init.json (rank_pattern, effective conv on conv1d/conv2d)", () => {
  const cases = readJson<InitJson>("init.json").cases.filter((c) => c.adapters[0]?.peft_type === "LOHA");
  it("has LoHa init cases", () => expect(cases.length).toBeGreaterThan(0));
  for (const c of cases) {
    it(c.name, () => {
      const cfg = c.adapters[0]?.config ?? {};
      for (const [m, exp] of Object.entries(c.modules)) {
        const desc = c.model.modules.find((x) => x.name === m);
        if (desc === undefined) throw new Error(`no module ${m}`);
        const layout = lohaParamShapes(layerShapeOf(desc), {
          r: exp.r,
          useEffectiveConv2d: cfg.use_effective_conv2d === true,
        });
        expect(layout.params.map(([n, s]) => [n, [...s]])).toEqual(
          Object.entries(exp.params).map(([n, p]) => [n, p.shape]),
        );
      }
    });
  }
});

describe("effective-conv rule and argument checks", () => {
  it("uses Tucker only for conv kernels other than all-ones", () => {
    const lin = { kind: "linear", outFeatures: 4, inFeatures: 3, kernelSize: [] } as const;
    const c1 = { kind: "conv1d", outFeatures: 4, inFeatures: 3, kernelSize: [1] } as const;
    const c3 = { kind: "conv1d", outFeatures: 4, inFeatures: 3, kernelSize: [3] } as const;
    const k13 = { kind: "conv2d", outFeatures: 4, inFeatures: 3, kernelSize: [1, 3] } as const;
    expect(lohaUsesEffectiveConv(lin, true)).toBe(false);
    expect(lohaUsesEffectiveConv(c1, true)).toBe(false);
    expect(lohaUsesEffectiveConv(c3, true)).toBe(true);
    expect(lohaUsesEffectiveConv(c3, false)).toBe(false);
    expect(lohaUsesEffectiveConv(k13, true)).toBe(true);
  });
  it("rejects bad ranks and kernel dims with a LoHaMathError naming the field", () => {
    const lin = { kind: "linear", outFeatures: 4, inFeatures: 3, kernelSize: [] } as const;
    expect(() => lohaParamShapes(lin, { r: 0, useEffectiveConv2d: false })).toThrow(LoHaMathError);
    try {
      lohaParamShapes({ ...lin, kernelSize: [3] }, { r: 2, useEffectiveConv2d: false });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(LoHaMathError);
      expect((e as LoHaMathError).field).toBe("kernelSize");
    }
  });
});
