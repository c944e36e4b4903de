import { createRng, fanIn } from "@lycoris-ts/kernels";
import { describe, expect, it } from "vitest";
import { initLoHaParams, lohaDeltaWeight } from "../src/functional/index";
import { layerShapeOf, readJson } from "./support/fixtures";

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
    model: { modules: Parameters<typeof layerShapeOf>[0][] };
    modules: Record<
      string,
      { r: number; params: Record<string, InitParam>; zero_params: string[]; delta_all_zero: boolean }
    >;
  }[];
}

// Init values are random: the contract is which params are exactly zero and that the others are
// Kaiming-uniform, i.e. inside ±1/√fan_in. Bound comparison uses 1e-12 relative slack only for the
// float64 computation of the bound itself; samples are float32 values drawn strictly inside it.
describe("initLoHaParams vs init.json", () => {
  const cases = readJson<InitJson>("init.json").cases.filter((c) => c.adapters[0]?.peft_type === "LOHA");
  it("covers init_weights true, false and lycoris", () => {
    const modes = new Set(cases.map((c) => JSON.stringify(c.adapters[0]?.config.init_weights)));
    expect(modes).toEqual(new Set(["true", "false", '"lycoris"']));
  });
  for (const c of cases) {
    it(c.name, () => {
      const cfg = c.adapters[0]?.config ?? {};
      const initWeights = cfg.init_weights as boolean | "lycoris";
      const rng = createRng(1234);
      for (const [m, exp] of Object.entries(c.modules)) {
        const desc = c.model.modules.find((x) => x.name === m);
        if (desc === undefined) throw new Error(`no module ${m}`);
        const layer = layerShapeOf(desc);
        const o = { r: exp.r, useEffectiveConv2d: cfg.use_effective_conv2d === true };
        const params = initLoHaParams(layer, o, initWeights, rng);
        expect(Object.keys(params)).toEqual(Object.keys(exp.params));
        const zeroNames: string[] = [];
        for (const [name, p] of Object.entries(exp.params)) {
          const t = params[name];
          if (t === undefined) throw new Error(`missing ${name}`);
          expect(t.shape).toEqual(p.shape);
          expect(fanIn(t.shape)).toBe(p.fan_in);
          const bound = 1 / Math.sqrt(fanIn(t.shape));
          expect(Math.abs(bound - p.kaiming_uniform_bound)).toBeLessThanOrEqual(1e-12 * bound);
          let maxAbs = 0;
          for (const v of t.data) maxAbs = Math.max(maxAbs, Math.abs(v));
          if (maxAbs === 0) zeroNames.push(name);
          expect(maxAbs === 0).toBe(p.all_zero);
          expect(maxAbs).toBeLessThanOrEqual(bound * (1 + 1e-12));
        }
        expect(zeroNames).toEqual(exp.zero_params);
        const delta = lohaDeltaWeight(params, layer, 2);
        expect(delta.data.every((v) => v === 0)).toBe(exp.delta_all_zero);
      }
    });
  }
  it("draws Kaiming-uniform values that fill the interval (not a constant or a narrower law)", () => {
    const layer = { kind: "linear", outFeatures: 400, inFeatures: 16, kernelSize: [] } as const;
    const p = initLoHaParams(layer, { r: 25, useEffectiveConv2d: false }, false, createRng(7));
    const w = p.hada_w1_a;
    if (w === undefined) throw new Error("missing hada_w1_a");
    const bound = 1 / Math.sqrt(25);
    let sum = 0;
    let sq = 0;
    for (const v of w.data) {
      sum += v;
      sq += v * v;
    }
    const n = w.data.length;
    // U(-b, b): mean 0, variance b²/3; with n = 10 000 the standard error of the variance is
    // about 0.9% of it, so 5% bands never fail by chance while a normal or half-width law would.
    expect(Math.abs(sum / n)).toBeLessThan(0.05 * bound);
    expect(Math.abs(sq / n / ((bound * bound) / 3) - 1)).toBeLessThan(0.05);
  });
  it("rejects an unknown init mode", () => {
    const layer = { kind: "linear", outFeatures: 4, inFeatures: 4, kernelSize: [] } as const;
    expect(() =>
      initLoHaParams(layer, { r: 2, useEffectiveConv2d: false }, "abba" as unknown as boolean, createRng(1)),
    ).toThrow(/init_weights/);
  });
});
