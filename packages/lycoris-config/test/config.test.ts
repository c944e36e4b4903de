import { describe, expect, it } from "vitest";
import {
  adapterConfigBehaviour,
  adapterConfigToJson,
  LycorisConfig,
  LycorisConfigError,
  type LycorisConfigOptions,
  parseAdapterConfigJson,
} from "../src/index";

function kindOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof LycorisConfigError) return error.kind;
    throw error;
  }
  return undefined;
}

describe("LycorisConfig", () => {
  it("fills PEFT's documented defaults", () => {
    const c = new LycorisConfig("LOKR");
    expect(c).toMatchObject({
      peftType: "LOKR",
      r: 8,
      alpha: 8,
      rankDropout: 0,
      moduleDropout: 0,
      initWeights: true,
      targetModules: null,
      excludeModules: null,
      layersToTransform: null,
      layersPattern: null,
      rankPattern: {},
      alphaPattern: {},
      modulesToSave: null,
      inferenceMode: false,
      taskType: null,
    });
  });

  it("stores target/exclude lists as sets (duplicates dropped, first order kept)", () => {
    const c = new LycorisConfig("LOHA", { targetModules: ["q", "v", "q"], excludeModules: ["k", "k"] });
    expect(c.targetModules).toEqual(["q", "v"]);
    expect(c.excludeModules).toEqual(["k"]);
  });

  it("accepts PEFT's task types and rejects others with PEFT's message", () => {
    expect(new LycorisConfig("LOKR", { taskType: "CAUSAL_LM" }).taskType).toBe("CAUSAL_LM");
    expect(() => new LycorisConfig("LOKR", { taskType: "causal_lm" })).toThrow(
      /^Invalid task type: 'causal_lm'/,
    );
  });

  it("raises layers_pattern_without_layers_to_transform with Python truthiness (0 and [] count as unset)", () => {
    expect(kindOf(() => new LycorisConfig("LOKR", { layersPattern: "layers" }))).toBe(
      "layers_pattern_without_layers_to_transform",
    );
    expect(kindOf(() => new LycorisConfig("LOKR", { layersPattern: "layers", layersToTransform: 0 }))).toBe(
      "layers_pattern_without_layers_to_transform",
    );
    expect(kindOf(() => new LycorisConfig("LOKR", { layersPattern: "layers", layersToTransform: [] }))).toBe(
      "layers_pattern_without_layers_to_transform",
    );
    expect(
      kindOf(() => new LycorisConfig("LOKR", { layersPattern: [], layersToTransform: null })),
    ).toBeUndefined();
    expect(
      kindOf(() => new LycorisConfig("LOKR", { layersPattern: "h", layersToTransform: 1 })),
    ).toBeUndefined();
  });

  it("does not check r at construction (PEFT checks it when injecting)", () => {
    expect(new LycorisConfig("LOKR", { r: 0 }).r).toBe(0);
  });

  it.each([
    ["r", { r: "8" }],
    ["alpha", { alpha: Number.NaN }],
    ["initWeights", { initWeights: "gaussian" }],
    ["targetModules", { targetModules: [1] }],
    ["layersToTransform", { layersToTransform: 1.5 }],
    ["layersPattern", { layersPattern: 3 }],
    ["rankPattern.q", { rankPattern: { q: "2" } }],
    ["modulesToSave", { modulesToSave: "lm_head" }],
    ["inferenceMode", { inferenceMode: 1 }],
  ])("rejects a wrong type for %s as invalid_value naming the field", (field, options) => {
    let caught: unknown;
    try {
      new LycorisConfig("LOKR", options as unknown as LycorisConfigOptions);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(LycorisConfigError);
    expect((caught as LycorisConfigError).kind).toBe("invalid_value");
    expect((caught as LycorisConfigError).field).toBe(field);
  });
});

describe("adapter_config.json boundary", () => {
  it("writes subclass fields in snake_case, keys sorted, inference_mode true, floats as Python floats", () => {
    class VariantConfig extends LycorisConfig {
      readonly useEffectiveConv2d: boolean;
      constructor(o: LycorisConfigOptions & { useEffectiveConv2d?: boolean }) {
        super("LOHA", o);
        this.useEffectiveConv2d = o.useEffectiveConv2d ?? false;
      }
    }
    const text = adapterConfigToJson(new VariantConfig({ targetModules: ["q"], rankDropout: 0.25 }));
    const json = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual([...Object.keys(json)].sort());
    expect(json.use_effective_conv2d).toBe(false);
    expect(json.inference_mode).toBe(true);
    expect(text).toContain('"module_dropout": 0.0,');
    expect(text).toContain('"rank_dropout": 0.25,');
    expect(text).not.toMatch(/[A-Z][a-z]+[A-Z]/); // no camelCase key leaked
  });

  it("writes the resolved target list in place of all-linear", () => {
    const c = new LycorisConfig("LOKR", { targetModules: "all-linear" });
    expect(JSON.parse(adapterConfigToJson(c)).target_modules).toBe("all-linear");
    expect(JSON.parse(adapterConfigToJson(c, { resolvedTargetModules: ["a.fc"] })).target_modules).toEqual([
      "a.fc",
    ]);
  });

  it("reads snake_case into camelCase, keeping pattern keys verbatim and variant fields", () => {
    const { peftType, options } = parseAdapterConfigJson(
      '{"peft_type": "LOKR", "rank_pattern": {"model.layers_0": 2}, "decompose_both": true, "r": 4}',
    );
    expect(peftType).toBe("LOKR");
    expect(options).toEqual({ rankPattern: { "model.layers_0": 2 }, decomposeBoth: true, r: 4 });
  });

  it("compares two files by behaviour: bookkeeping left out, target/exclude sets in any order", () => {
    const ours = {
      r: 4,
      target_modules: ["q", "v"],
      exclude_modules: null,
      peft_version: "x",
      revision: null,
    };
    const theirs = { target_modules: ["v", "q"], r: 4, exclude_modules: null, auto_mapping: { a: 1 } };
    expect(adapterConfigBehaviour(ours)).toEqual(adapterConfigBehaviour(theirs));
    expect(adapterConfigBehaviour({ ...theirs, r: 8 })).not.toEqual(adapterConfigBehaviour(ours));
    expect(adapterConfigBehaviour({ target_modules: ".*q" })).toEqual({ target_modules: ".*q" });
  });

  it.each([["not json"], ["[1]"], ['{"r": 4}'], ['{"peft_type": 3}']])(
    "rejects %s as invalid_adapter_config",
    (text) => {
      expect(kindOf(() => parseAdapterConfigJson(text))).toBe("invalid_adapter_config");
    },
  );
});
