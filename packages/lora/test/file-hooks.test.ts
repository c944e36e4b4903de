import { describe, expect, it } from "vitest";
import { LoraConfig, loraVariant } from "../src/index";
import { type ExpectedJson, loraCaseNames, readJson } from "./support/fixtures";

// The file hooks (describeParameters, layerCandidates) against the parameter shapes, rank, layer kind and
// base weight shape PEFT recorded for every module of every LoRA fixture case. Shapes and ranks are
// integers: exact comparisons, no tolerance.

const describeShapes = (shapes: Record<string, readonly number[]>) =>
  loraVariant.describeParameters!(new Map(Object.entries(shapes)));
const candidates = (shapes: Record<string, readonly number[]>) =>
  loraVariant.layerCandidates!(new Map(Object.entries(shapes)));

interface FixtureModule {
  readonly where: string;
  readonly kind: string;
  readonly weightShape: number[];
  readonly r: number;
  readonly params: Record<string, number[]>;
}

function fixtureModules(): FixtureModule[] {
  const out: FixtureModule[] = [];
  for (const name of loraCaseNames()) {
    const expected = readJson<ExpectedJson>(name, "expected.json");
    for (const [module, m] of Object.entries(expected.modules)) {
      for (const [adapter, a] of Object.entries(m.adapters)) {
        out.push({ where: `${name}/${adapter}/${module}`, kind: m.kind, weightShape: m.weight_shape, ...a });
      }
    }
  }
  return out;
}

const modules = fixtureModules();

describe("LoRA file hooks on every PEFT LoRA fixture module", () => {
  it("covers every layer kind of the fixtures", () => {
    expect([...new Set(modules.map((m) => m.kind))].sort()).toEqual([
      "conv1d",
      "conv2d",
      "embedding",
      "gpt2_conv1d",
      "linear",
    ]);
  });

  it("describeParameters gives rank r and one low-rank factor over PEFT's parameters", () => {
    for (const m of modules) {
      const d = describeShapes(m.params);
      expect(d, m.where).toMatchObject({ ok: true, rank: m.r });
      expect(d.ok && d.factors, m.where).toEqual([
        { name: "w", form: "lowrank", params: Object.keys(m.params) },
      ]);
    }
  });

  it("layerCandidates is exactly the real layer (a GPT-2 Conv1D reads as the linear of its transpose)", () => {
    for (const m of modules) {
      const found = candidates(m.params);
      expect(found, m.where).toHaveLength(1);
      const g = found[0]!;
      if (m.kind === "gpt2_conv1d") {
        expect([g.kind, g.weightShape], m.where).toEqual(["linear", [m.weightShape[1], m.weightShape[0]]]);
      } else {
        expect([g.kind, g.weightShape], m.where).toEqual([m.kind, m.weightShape]);
      }
      // the contract: the variant's own layout for that layer and r is exactly these shapes
      const layout = loraVariant.parameterLayout({
        config: new LoraConfig({ r: m.r }),
        r: m.r,
        alpha: m.r,
        layer: g,
      });
      expect(Object.fromEntries(layout.params), m.where).toEqual(m.params);
    }
  });
});

describe("LoRA describeParameters / layerCandidates: what is missing or does not fit", () => {
  it("needs both factors", () => {
    const a = describeShapes({ "lora_A.weight": [4, 8] });
    expect(a).toMatchObject({ ok: false, kind: "missing_parameter" });
    expect(!a.ok && a.message).toContain("'lora_B.weight'");
    const e = describeShapes({ lora_embedding_B: [6, 4] });
    expect(e).toMatchObject({ ok: false, kind: "missing_parameter" });
    expect(!e.ok && e.message).toContain("'lora_embedding_A'");
    expect(candidates({ "lora_A.weight": [4, 8] })).toEqual([]);
  });

  it("the ranks of A and B must agree", () => {
    const d = describeShapes({ "lora_A.weight": [4, 8], "lora_B.weight": [6, 3] });
    expect(d).toMatchObject({ ok: false, kind: "shape_mismatch" });
    expect(!d.ok && d.message).toContain("lora_B.weight [6, 3] and lora_A.weight [4, 8]");
    expect(candidates({ "lora_A.weight": [4, 8], "lora_B.weight": [6, 3] })).toEqual([]);
    expect(candidates({ lora_embedding_A: [4, 10], lora_embedding_B: [6, 3] })).toEqual([]);
  });

  it("a conv lora_B must be a 1×…×1 kernel of the same rank as lora_A", () => {
    expect(describeShapes({ "lora_A.weight": [4, 8, 3, 3], "lora_B.weight": [6, 4] })).toMatchObject({
      ok: false,
      kind: "shape_mismatch",
    });
    expect(candidates({ "lora_A.weight": [4, 8, 3, 3], "lora_B.weight": [6, 4, 3, 3] })).toEqual([]);
  });
});
