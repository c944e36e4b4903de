import { adapterConfigToJson, LycorisConfigError, parseAdapterConfigJson } from "@lycoris-ts/lycoris-config";
import { describe, expect, it } from "vitest";
import { LoraConfig, type LoraConfigOptions, loraVariant } from "../src/index";
import { readJson } from "./support/fixtures";

function thrown(f: () => unknown): LycorisConfigError {
  try {
    f();
  } catch (e) {
    if (e instanceof LycorisConfigError) return e;
    throw e;
  }
  throw new Error("no error thrown");
}

describe("LoraConfig", () => {
  it("has PEFT's defaults and writes exactly PEFT's adapter_config.json keys and default values", () => {
    // lora-linear-basic was saved by PEFT with r=4, lora_alpha=8 and everything else at its default.
    const peft = readJson<Record<string, unknown>>("lora-linear-basic", "adapter", "adapter_config.json");
    const config = new LoraConfig({ r: 4, loraAlpha: 8, targetModules: ["v_proj", "q_proj"] });
    const ours = JSON.parse(adapterConfigToJson(config)) as Record<string, unknown>;
    expect(Object.keys(ours).sort()).toEqual(Object.keys(peft).sort());
    for (const key of Object.keys(peft)) {
      if (["peft_version", "auto_mapping"].includes(key)) continue;
      expect(ours[key], key).toEqual(peft[key]);
    }
    expect(adapterConfigToJson(config)).toContain('"lora_dropout": 0.0');
  });

  it("reads PEFT's own adapter_config.json back into the same config", () => {
    const peft = readJson<Record<string, unknown>>("lora-linear-rslora", "adapter", "adapter_config.json");
    const { peftType, options } = parseAdapterConfigJson(peft);
    const config = loraVariant.createConfig(options);
    expect(peftType).toBe("LORA");
    expect(config).toMatchObject({
      r: 4,
      loraAlpha: 8,
      useRslora: true,
      initLoraWeights: true,
      bias: "none",
    });
    expect(JSON.parse(adapterConfigToJson(config))).toEqual(peft);
  });

  it("keeps LyCORIS-only fields (alpha, rank/module dropout, init_weights) out of the file", () => {
    const json = adapterConfigToJson(new LoraConfig({ loraAlpha: 12 }));
    for (const key of ['"alpha"', "rank_dropout", "module_dropout", '"init_weights"']) {
      expect(json).not.toContain(key);
    }
    expect(new LoraConfig({ loraAlpha: 12 }).alpha).toBe(12);
  });

  it.each<[string, LoraConfigOptions, string]>([
    ["use_dora", { useDora: true }, "use_dora=true"],
    ["lora_bias", { loraBias: true }, "lora_bias=true"],
    ["loftq_config", { loftqConfig: { loftq_bits: 4 } }, "loftq_config="],
    ["layer_replication", { layerReplication: [[0, 2]] }, "layer_replication="],
    ["eva_config", { evaConfig: { rho: 2 } }, "eva_config="],
    ["use_qalora", { useQalora: true }, "use_qalora=true"],
    ["target_parameters", { targetParameters: ["experts.w"] }, "target_parameters="],
    ["bias", { bias: "all" as "none" }, 'bias="all"'],
    ["init pissa", { initLoraWeights: "pissa" }, 'init_lora_weights="pissa"'],
    ["init pissa_niter_4", { initLoraWeights: "pissa_niter_4" }, 'init_lora_weights="pissa_niter_4"'],
    ["init olora", { initLoraWeights: "olora" }, 'init_lora_weights="olora"'],
    ["init loftq", { initLoraWeights: "loftq" }, 'init_lora_weights="loftq"'],
  ])("rejects PEFT's %s with a typed not_supported error naming it", (_, options, named) => {
    const e = thrown(() => new LoraConfig(options));
    expect(e.kind).toBe("not_supported");
    expect(e.message).toContain(named);
  });

  it("rejects unsupported options in a PEFT adapter_config.json too", () => {
    const peft = readJson<Record<string, unknown>>("lora-linear-basic", "adapter", "adapter_config.json");
    const { options } = parseAdapterConfigJson({ ...peft, use_dora: true });
    expect(thrown(() => loraVariant.createConfig(options)).kind).toBe("not_supported");
  });

  it("rejects layers_to_transform / layers_pattern with a string target, as PEFT's LoraConfig", () => {
    expect(thrown(() => new LoraConfig({ targetModules: ".*q", layersToTransform: [0] })).kind).toBe(
      "layers_to_transform_with_regex_target",
    );
    expect(thrown(() => new LoraConfig({ targetModules: "all-linear", layersPattern: "layers" })).kind).toBe(
      "layers_pattern_with_regex_target",
    );
    expect(thrown(() => new LoraConfig({ targetModules: ["q"], layersPattern: "layers" })).kind).toBe(
      "layers_pattern_without_layers_to_transform",
    );
  });

  it("validates types and ranges, and leaves unknown init strings to injection (as PEFT)", () => {
    expect(thrown(() => new LoraConfig({ loraDropout: 1.5 })).field).toBe("loraDropout");
    expect(thrown(() => new LoraConfig({ useRslora: "yes" as unknown as boolean })).kind).toBe(
      "invalid_value",
    );
    expect(thrown(() => new LoraConfig({ loraAlpha: Number.NaN })).field).toBe("loraAlpha");
    expect(new LoraConfig({ initLoraWeights: "uniform" }).initLoraWeights).toBe("uniform");
  });
});

describe("unknown option keys", () => {
  it("new LoraConfig rejects an unknown key, and LyCORIS' `alpha` (LoRA's is loraAlpha), naming them", () => {
    let error: unknown;
    try {
      new LoraConfig({ loraAlpah: 16, alpha: 4 } as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LycorisConfigError);
    expect((error as LycorisConfigError).kind).toBe("unknown_option");
    expect((error as LycorisConfigError).received).toEqual(["loraAlpah", "alpha"]);
    expect((error as LycorisConfigError).message).toMatch(/`loraAlpah`, `alpha`.*LoraConfig/);
  });

  it("createConfig (options of an adapter_config.json) ignores unknown keys with PEFT's warning", () => {
    const config = loraVariant.createConfig({ r: 4, someFutureOption: true });
    expect(config.r).toBe(4);
    expect(config.warnings).toEqual([
      expect.stringMatching(
        /^Unexpected keyword arguments \['some_future_option'\] for class LoraConfig, these are ignored\./,
      ),
    ]);
  });
});
