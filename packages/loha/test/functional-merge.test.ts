import { createRng, tensor } from "@lycoris-ts/kernels";
import { describe, expect, it } from "vitest";
import { type LoHaLayerShape, LoHaMathError, lohaMergeInto, lohaParamShapes } from "../src/functional/index";
import { naiveHadamardDelta } from "./support/naive";
import { randn64, randomParams64, toF32Params } from "./support/random";

// The merged weight is float32: compare with the float64 naive ΔW added in float64, allowing
// float32 rounding of the result (|w| ≲ 10 here, float32 ulp ≈ 1e-6) → 1e-5·(1 + |e|).
describe("lohaMergeInto", () => {
  // 700 × 1000 = 7 · 10⁵ elements: three row blocks of the 2¹⁸-element scratch, the last one partial.
  const layer: LoHaLayerShape = { kind: "linear", outFeatures: 700, inFeatures: 1000, kernelSize: [] };
  const p64 = randomParams64(lohaParamShapes(layer, { r: 3, useEffectiveConv2d: false }).params, 51, 0.7);
  const base = randn64([700, 1000], createRng(52));
  const get = (k: string) => {
    const t = p64[k];
    if (t === undefined) throw new Error(k);
    return t.data;
  };
  const delta = naiveHadamardDelta(
    get("hada_w1_a"),
    get("hada_w1_b"),
    get("hada_w2_a"),
    get("hada_w2_b"),
    700,
    1000,
    3,
    3,
    0.8,
  );

  for (const [label, params] of [
    ["float32 factors", toF32Params(p64)],
    ["float64 factors", p64],
  ] as const) {
    it(`adds scale·ΔW across row blocks (${label}) and un-merges with −scale`, () => {
      const w = tensor(new Float32Array(base.data), [700, 1000]);
      lohaMergeInto(w, params, layer, 0.8);
      let worst = 0;
      for (let i = 0; i < w.data.length; i++) {
        const e = (base.data[i] ?? 0) + (delta[i] ?? 0);
        worst = Math.max(worst, Math.abs((w.data[i] ?? 0) - e) / (1 + Math.abs(e)));
      }
      expect(worst).toBeLessThanOrEqual(1e-5);
      lohaMergeInto(w, params, layer, -0.8);
      let back = 0;
      for (let i = 0; i < w.data.length; i++) {
        const e = base.data[i] ?? 0;
        back = Math.max(back, Math.abs((w.data[i] ?? 0) - e) / (1 + Math.abs(e)));
      }
      expect(back).toBeLessThanOrEqual(1e-5);
    });
  }
  it("rejects a weight that does not have the layer's shape", () => {
    const w = tensor(new Float32Array(700 * 999), [700, 999]);
    expect(() => lohaMergeInto(w, p64, layer, 1)).toThrow(LoHaMathError);
  });
});
