import { createRng } from "@lycoris-ts/kernels";
import { describe, expect, it } from "vitest";
import { initLoraParams, LoraError, type LoraInitWeights, type LoraLayerShape } from "../src/functional";

// PEFT's rules (fixtures/peft-lora/FORMAT.md, init.json's `distribution`, read from PEFT's code):
//   true:       A ~ U(±1/√fan_in(A)), B = 0;          embedding: A = 0, B ~ N(0, 1)
//   "gaussian": A ~ N(0, 1/r),        B = 0;          embedding: A = 0, B ~ N(0, 1)
//   false:      A ~ U(±1/√fan_in(A)), B ~ U(±1/√fan_in(B)); embedding: A, B ~ N(0, 1)
// Layers are large (≥ 2048 draws per tensor) so the sample statistics are tight: the sample sd of n
// draws is within 5 standard errors (uniform: 0.45·sd/√n, normal: 0.71·sd/√n) and the mean within 5·sd/√n;
// seeded, so the outcome is fixed, and a wrong rule (e.g. std 1/√r instead of 1/r) is far outside.
type Rule = { kind: "zeros" } | { kind: "uniform"; bound: number } | { kind: "normal"; std: number };

function check(values: Float32Array, rule: Rule): void {
  if (rule.kind === "zeros") {
    expect(values.every((v) => v === 0)).toBe(true);
    return;
  }
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / n);
  const [want, rel] = rule.kind === "uniform" ? [rule.bound / Math.sqrt(3), 0.45] : [rule.std, 0.71];
  if (rule.kind === "uniform") expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(rule.bound);
  expect(Math.abs(mean)).toBeLessThan((5 * want) / Math.sqrt(n));
  expect(Math.abs(sd - want)).toBeLessThan((5 * rel * want) / Math.sqrt(n));
}

const r = 8;
const LAYERS: Array<{ layer: LoraLayerShape; fanInA: number; fanInB: number }> = [
  {
    layer: { kind: "linear", outFeatures: 256, inFeatures: 300, kernelSize: [], groups: 1 },
    fanInA: 300,
    fanInB: r,
  },
  {
    layer: { kind: "gpt2_conv1d", outFeatures: 260, inFeatures: 280, kernelSize: [], groups: 1 },
    fanInA: 280,
    fanInB: r,
  },
  {
    layer: { kind: "conv2d", outFeatures: 300, inFeatures: 32, kernelSize: [3, 3], groups: 2 },
    fanInA: 32 * 9,
    fanInB: r / 2,
  },
  {
    layer: { kind: "conv1d", outFeatures: 256, inFeatures: 40, kernelSize: [7], groups: 1 },
    fanInA: 280,
    fanInB: r,
  },
];

describe("initLoraParams follows PEFT's distributions", () => {
  for (const { layer, fanInA, fanInB } of LAYERS) {
    const rulesFor = (init: LoraInitWeights): [Rule, Rule] =>
      init === true
        ? [{ kind: "uniform", bound: 1 / Math.sqrt(fanInA) }, { kind: "zeros" }]
        : init === false
          ? [
              { kind: "uniform", bound: 1 / Math.sqrt(fanInA) },
              { kind: "uniform", bound: 1 / Math.sqrt(fanInB) },
            ]
          : [{ kind: "normal", std: 1 / r }, { kind: "zeros" }];
    for (const init of [true, false, "gaussian", "Gaussian"] as const) {
      it(`${layer.kind}, init ${JSON.stringify(init)}`, () => {
        const p = initLoraParams(layer, r, init, createRng(11));
        const [ruleA, ruleB] = rulesFor(init);
        check(p["lora_A.weight"]!.data, ruleA);
        check(p["lora_B.weight"]!.data, ruleB);
      });
    }
  }

  const embedding: LoraLayerShape = {
    kind: "embedding",
    outFeatures: 300,
    inFeatures: 400,
    kernelSize: [],
    groups: 1,
  };
  for (const init of [true, "gaussian", "uniform", false] as const) {
    it(`embedding, init ${JSON.stringify(init)} (PEFT never rejects an init string on embeddings)`, () => {
      const p = initLoraParams(embedding, r, init, createRng(12));
      check(p.lora_embedding_A!.data, init === false ? { kind: "normal", std: 1 } : { kind: "zeros" });
      check(p.lora_embedding_B!.data, { kind: "normal", std: 1 });
    });
  }

  it("rejects an unknown init string on other layers with PEFT's message", () => {
    const f = () => initLoraParams(LAYERS[0]!.layer, r, "uniform", createRng(1));
    expect(f).toThrow(LoraError);
    expect(f).toThrow("Unknown initialization init_lora_weights='uniform'");
  });
});
