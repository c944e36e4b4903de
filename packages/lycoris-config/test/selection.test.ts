import { describe, expect, it } from "vitest";
import {
  findMinimalTargetModules,
  isModuleToSave,
  LycorisConfig,
  LycorisConfigError,
  type LycorisConfigOptions,
  type ModelDescription,
  parseModelDescription,
  resolveRankAndAlpha,
  selectTargetModules,
  validateForInjection,
} from "../src/index";
import { configFromKwargs, readJson } from "./fixture-helpers";

/** A small llama-like model: model.layers.{0,1}.{q_proj,v_proj}, mlp.fc, lm_head. */
function model(extra: Partial<ModelDescription> = {}): ModelDescription {
  const modules: { name: string; kind: string }[] = [
    { name: "model", kind: "container" },
    { name: "model.layers", kind: "module_list" },
  ];
  for (const i of [0, 1]) {
    modules.push({ name: `model.layers.${i}`, kind: "container" });
    for (const p of ["q_proj", "v_proj"]) modules.push({ name: `model.layers.${i}.${p}`, kind: "linear" });
  }
  modules.push(
    { name: "mlp", kind: "container" },
    { name: "mlp.fc", kind: "linear" },
    { name: "lm_head", kind: "linear" },
  );
  return { modules, outputLayer: "lm_head", ...extra };
}

const cfg = (o: LycorisConfigOptions) => new LycorisConfig("LOKR", o);

function errorOf(run: () => unknown): LycorisConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof LycorisConfigError) return error;
    throw error;
  }
  throw new Error("nothing thrown");
}

describe("selectTargetModules: PEFT quirks", () => {
  it("keeps the result but warns when layers_to_transform / layers_pattern meet a regex target", () => {
    const s = selectTargetModules(
      cfg({ targetModules: ".*q_proj", layersToTransform: [1], layersPattern: "layers" }),
      model(),
    );
    expect(s.targets).toEqual(["model.layers.0.q_proj", "model.layers.1.q_proj"]);
    expect(s.warnings).toHaveLength(2);
    expect(s.warnings[0]).toMatch(/layers_to_transform=\[1\] is ignored/);
  });

  it("applies layers_to_transform only to suffix matches: an exact full name bypasses it", () => {
    const s = selectTargetModules(
      cfg({ targetModules: ["model.layers.0.q_proj", "v_proj"], layersToTransform: 1 }),
      model(),
    );
    expect(s.targets).toEqual(["model.layers.0.q_proj", "model.layers.1.v_proj"]);
  });

  it("finds the layer index after any dotted segment when layers_pattern is unset", () => {
    expect(
      selectTargetModules(cfg({ targetModules: ["q_proj"], layersToTransform: [0] }), model()).targets,
    ).toEqual(["model.layers.0.q_proj"]);
  });

  it("never adapts modules_to_save, and says which modules are saved with PEFT's suffix rule", () => {
    const c = cfg({ targetModules: ["fc", "lm_head"], modulesToSave: ["lm_head"] });
    expect(selectTargetModules(c, model()).targets).toEqual(["mlp.fc"]);
    expect(isModuleToSave(c, "lm_head")).toBe(true);
    expect(isModuleToSave(c, "xlm_head")).toBe(true); // PEFT tests name.endswith(entry), without a dot
    expect(isModuleToSave(c, "lm_head.proj")).toBe(false);
  });

  it("warns when exclude_modules excluded nothing", () => {
    const s = selectTargetModules(cfg({ targetModules: ["q_proj"], excludeModules: ["nothing"] }), model());
    expect(s.warnings).toEqual([
      "You have passed exclude_modules={'nothing'} but no modules were excluded. Please check that exclude_modules was set correctly.",
    ]);
  });

  it("all-linear: skips the output layer, or a SEQ_CLS head when no output layer is declared", () => {
    const all = cfg({ targetModules: "ALL-LINEAR" });
    expect(selectTargetModules(all, model()).targets).not.toContain("lm_head");
    const cls: ModelDescription = {
      modules: [...model().modules, { name: "classifier", kind: "linear" }],
      outputLayer: null,
    };
    const seqCls = new LycorisConfig("LOKR", { targetModules: "all-linear", taskType: "SEQ_CLS" });
    expect(selectTargetModules(seqCls, cls).targets).not.toContain("classifier");
    expect(selectTargetModules(all, cls).targets).toContain("classifier");
  });

  it("uses model-type defaults and requires target_modules otherwise", () => {
    const bert = parseModelDescription({
      model_type: "bert",
      modules: [
        { name: "encoder", kind: "container" },
        { name: "encoder.query", kind: "linear", in_features: 4, out_features: 4, bias: true },
        { name: "encoder.key", kind: "linear", in_features: 4, out_features: 4, bias: true },
        { name: "encoder.value", kind: "linear", in_features: 4, out_features: 4, bias: true },
      ],
    });
    expect(bert.modules[1]).toMatchObject({ inFeatures: 4, outFeatures: 4 });
    const s = selectTargetModules(cfg({}), bert);
    expect(s.targets).toEqual(["encoder.query", "encoder.value"]);
    expect(s.resolvedTargetModules).toEqual(["query", "value"]);
    expect(errorOf(() => selectTargetModules(cfg({}), model())).kind).toBe("target_modules_required");
  });

  it("checks module kinds against supportedKinds and ranks in model order", () => {
    const gpt2: ModelDescription = { modules: [{ name: "h.0.c_attn", kind: "gpt2_conv1d" }] };
    const all = cfg({ targetModules: "all-linear" });
    expect(errorOf(() => selectTargetModules(all, gpt2)).kind).toBe("unsupported_module_type");
    expect(selectTargetModules(all, gpt2, { supportedKinds: ["linear", "gpt2_conv1d"] }).targets).toEqual([
      "h.0.c_attn",
    ]);
    const zero = cfg({ targetModules: ["q_proj"], rankPattern: { "layers\\.1\\..*": 0 } });
    expect(selectTargetModules(zero, model(), { validateRanks: false }).targets).toHaveLength(2);
    const e = errorOf(() => selectTargetModules(zero, model()));
    expect(e.kind).toBe("invalid_rank");
    expect(e.field).toBe("rankPattern.layers\\.1\\..*");
  });

  it("condenses 20+ list targets to PEFT's minimal suffixes (PEFT docstring example)", () => {
    const targets = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].flatMap((i) => [
      `model.decoder.layers.${i}.self_attn.q_proj`,
      `model.decoder.layers.${i}.self_attn.v_proj`,
    ]);
    const others = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => `model.encoder.layers.${i}.self_attn.k_proj`);
    expect(findMinimalTargetModules(targets, others)).toEqual(["q_proj", "v_proj"]);
  });
});

describe("resolveRankAndAlpha", () => {
  it("resolves rank and alpha separately, first matching key in key order, suffix-anchored", () => {
    const c = cfg({
      r: 4,
      alpha: 8,
      rankPattern: { "layers\\.1\\..*": 2, q_proj: 6 },
      alphaPattern: { q_proj: 16 },
    });
    expect(resolveRankAndAlpha(c, "model.layers.1.q_proj")).toEqual({ r: 2, alpha: 16 });
    expect(resolveRankAndAlpha(c, "model.layers.0.q_proj")).toEqual({ r: 6, alpha: 16 });
    expect(resolveRankAndAlpha(c, "model.layers.0.v_proj")).toEqual({ r: 4, alpha: 8 });
    expect(resolveRankAndAlpha(c, "model.layers.0.xq_proj")).toEqual({ r: 4, alpha: 8 }); // needs a dot boundary
  });

  it("throws invalid_rank with PEFT's message for r <= 0", () => {
    const e = errorOf(() => validateForInjection(cfg({ r: -2 }), "fc"));
    expect(e.kind).toBe("invalid_rank");
    expect(e.message).toBe("`r` should be a positive integer value but the value passed is -2");
  });
});

interface InitJson {
  readonly cases: readonly {
    readonly name: string;
    readonly adapters: readonly { peft_type: string; config: Record<string, unknown> }[];
    readonly model: unknown;
    readonly modules: Readonly<Record<string, { r: number }>>;
  }[];
}

describe.each(readJson<InitJson>("init.json").cases.map((c) => [c.name, c] as const))(
  "init.json case %s",
  (_, initCase) => {
    it("selects the modules PEFT initialised, with PEFT's rank", () => {
      const adapter = initCase.adapters[0] as InitJson["cases"][number]["adapters"][number];
      const config = configFromKwargs(adapter.peft_type, adapter.config);
      const s = selectTargetModules(config, parseModelDescription(initCase.model));
      expect([...s.targets].sort()).toEqual(Object.keys(initCase.modules).sort());
      for (const [name, m] of Object.entries(initCase.modules))
        expect(resolveRankAndAlpha(config, name).r).toBe(m.r);
    });
  },
);
