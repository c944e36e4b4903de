import { lohaVariant } from "@lycoris-ts/loha";
import type { LycorisConfig } from "@lycoris-ts/lycoris-config";
import { AdapterRegistry, type AdapterVariant } from "@lycoris-ts/runtime";
import { describe, expect, it } from "vitest";
import {
  type AdapterKeyMap,
  assertAdapterKeysPlaced,
  type KeyMapEntry,
  LycorisFormatError,
  mapAdapterKeys,
  splitAdapterTensorName,
} from "../src/index";
import { adapterNames, baseTensors, keyMapRegistry } from "./key-map-support";

/**
 * The key map's rules beyond the fixture comparison (key-map-fixtures.test.ts): the suffix split,
 * layout detection, reasons and closest names for keys that are not placed, the same module named
 * in other producers' layouts (expected targets taken from the fixture key's own placement), the
 * strict check, and typed errors. Names and integers only: no tolerance.
 */

const entry = (map: AdapterKeyMap, key: string): KeyMapEntry => {
  const e = map.entries.find((x) => x.moduleKey === key);
  if (e === undefined) throw new Error(`no entry ${key}`);
  return e;
};

const registry = keyMapRegistry();

const mapCase = (name: string, names: readonly string[] = adapterNames(name)): AdapterKeyMap =>
  mapAdapterKeys(baseTensors(name), names, { registry });

describe("splitAdapterTensorName", () => {
  it.each([
    ["lora_unet_a_b.lokr_w1", "lora_unet_a_b", ".lokr_w1"],
    ["lora_unet_a_b.lokr_w1_a", "lora_unet_a_b", ".lokr_w1_a"],
    ["x.attn1.processor.to_q_lora.up.weight", "x.attn1.processor.to_q", "_lora.up.weight"],
    ["transformer.blocks.0.to_q.lora_A.weight", "transformer.blocks.0.to_q", ".lora_A.weight"],
    ["m.lora_A.default.weight", "m", ".lora_A.default.weight"],
    [
      "text_encoder.l.k_proj.lora_linear_layer.down.weight",
      "text_encoder.l.k_proj",
      ".lora_linear_layer.down.weight",
    ],
    ["lycoris_a.diff_b", "lycoris_a", ".diff_b"],
    ["lora_unet_a.alpha", "lora_unet_a", ".alpha"],
    ["t.to_out.0.lora_magnitude_vector", "t.to_out.0", ".lora_magnitude_vector"],
  ])("%s → module %s, suffix %s", (name, moduleKey, suffix) => {
    expect(splitAdapterTensorName(name, registry)).toEqual({ moduleKey, suffix });
  });

  it("leaves names without a known suffix unsplit", () => {
    expect(splitAdapterTensorName("model.diffusion_model.out.2.weight", registry)).toBeNull();
    expect(splitAdapterTensorName(".alpha", registry)).toBeNull();
  });
});

describe("variant tensors come from the registry", () => {
  const from = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q";

  it("a registered variant's kohya tensor names are suffixes, read with its algo as the kind", () => {
    const stub: AdapterVariant<LycorisConfig> = {
      ...lohaVariant,
      peftType: "STUB",
      prefix: "stub_",
      parameterNames: ["stub_up", "stub_down"],
      kohya: {
        ...lohaVariant.kohya!,
        algo: "stub",
        tensorNames: { stub_up: "stub_up", stub_down: "stub_down" },
      },
    };
    const withStub = keyMapRegistry();
    withStub.register(stub);
    expect(splitAdapterTensorName(`${from}.stub_down`, withStub)).toEqual({
      moduleKey: from,
      suffix: ".stub_down",
    });
    const reference = entry(mapCase("sd15-kohya-lokr"), from);
    const map = mapAdapterKeys(
      baseTensors("sd15-kohya-lokr"),
      [`${from}.stub_up`, `${from}.stub_down`, `${from}.alpha`],
      {
        registry: withStub,
      },
    );
    const e = entry(map, from);
    expect(e.status).toBe("placed");
    expect(e.kind).toBe("stub");
    expect(e.unread).toEqual([]);
    expect(e.targets).toEqual(reference.targets);
  });

  it("an unregistered variant's tensors end in no known suffix", () => {
    const lohaOnly = new AdapterRegistry();
    lohaOnly.register(lohaVariant);
    expect(splitAdapterTensorName(`${from}.lokr_w1`, lohaOnly)).toBeNull();
    const map = mapAdapterKeys(baseTensors("sd15-kohya-lokr"), [`${from}.lokr_w1`], { registry: lohaOnly });
    expect(map.entries[0]!.status).toBe("unknown_layout");
    expect(map.entries[0]!.message).toContain(
      "ends in no adapter tensor suffix (.lora_up.weight, .lora_A.weight, .hada_w1_a,",
    );
  });
});

describe("layout detection", () => {
  it("labels every fixture producer layout from the key prefix", () => {
    const layouts = (name: string): Record<string, string | null> =>
      Object.fromEntries(mapCase(name).entries.map((e) => [e.moduleKey, e.layout]));
    expect(layouts("sd15-diffusers-legacy")).toEqual({
      "diffusion_model.input_blocks.4.1.proj_in": "comfy",
      lora_unet_up_blocks_3_attentions_2_transformer_blocks_0_attn2_to_out_0: "kohya",
      "text_encoder.text_model.encoder.layers.1.self_attn.k_proj": "diffusers",
      "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_out": "diffusers-attn-procs",
      "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_q": "diffusers-attn-procs",
      "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_q": "diffusers",
    });
    expect(new Set(mapCase("flux-onetrainer-aitoolkit").entries.map((e) => e.layout))).toEqual(
      new Set(["comfy", "onetrainer"]),
    );
    expect(new Set(mapCase("flux-lycoris-simpletuner").entries.map((e) => e.layout))).toEqual(
      new Set(["lycoris"]),
    );
  });
});

describe("keys that are not placed", () => {
  it("a typo and a missing layer: no_such_module, with the intended module closest", () => {
    const map = mapCase("sd15-kohya-lokr");
    const typo = entry(map, "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_qq");
    expect(typo.status).toBe("no_such_module");
    expect(typo.closest[0]).toEqual({
      key: "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q",
      tensor: "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight",
      slice: null,
    });
    expect(typo.message).toContain("names no module of this sd15 checkpoint");
    const layer12 = entry(map, "lora_te_text_model_encoder_layers_12_self_attn_q_proj");
    expect(layer12.status).toBe("no_such_module");
    expect(layer12.closest[0]?.key).toBe("lora_te_text_model_encoder_layers_11_self_attn_q_proj");
    expect(layer12.unread).toEqual(layer12.tensors);
  });

  it("closest names carry the fused rows they would patch", () => {
    const map = mapCase("sdxl-kohya-lora-full");
    const e = entry(map, "lora_te2_text_model_encoder_layers_32_mlp_fc1");
    expect(e.closest[0]?.key).toBe("lora_te2_text_model_encoder_layers_31_mlp_fc1");
    const q = mapCase("sdxl-kohya-lora-full", [
      "lora_te2_text_model_encoder_layers_3_self_attn_q_prj.lora_up.weight",
    ]);
    expect(q.entries[0]!.closest[0]).toEqual({
      key: "lora_te2_text_model_encoder_layers_3_self_attn_q_proj",
      tensor: "conditioner.embedders.1.model.transformer.resblocks.3.attn.in_proj_weight",
      slice: { dim: 0, start: 0, size: 8 },
    });
  });

  it("a PEFT-named diffusers UNet key: unknown_layout, pointing at the attention-processor form", () => {
    const e = entry(
      mapCase("sd15-diffusers-legacy"),
      "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_q",
    );
    expect(e.status).toBe("unknown_layout");
    expect(e.message).toContain(
      "'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.processor.to_q'",
    );
    expect(e.closest[0]?.tensor).toBe(
      "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_q.weight",
    );
  });

  it("tensors without a known suffix and keys without a known prefix: unknown_layout", () => {
    const map = mapCase("flux-kohya-bfl", ["double_blocks.0.img_attn.qkv.weight", "my_net.block0.lokr_w1"]);
    expect(map.entries.map((e) => [e.moduleKey, e.status, e.layout])).toEqual([
      ["double_blocks.0.img_attn.qkv.weight", "unknown_layout", null],
      ["my_net.block0", "unknown_layout", "none"],
    ]);
    expect(map.notLoaded).toEqual(["double_blocks.0.img_attn.qkv.weight", "my_net.block0.lokr_w1"]);
  });

  it("names the missing part of the checkpoint", () => {
    const flux = mapCase("flux-kohya-bfl", ["lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_up.weight"]);
    expect(flux.entries[0]!.status).toBe("no_such_module");
    expect(flux.entries[0]!.message).toContain("the checkpoint has no text encoder");
    const sd15 = mapCase("sd15-kohya-lokr", ["lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_up.weight"]);
    expect(sd15.entries[0]!.message).toContain("no second text encoder");
  });

  it("a PEFT DoRA magnitude next to a placed LoRA is listed as unread", () => {
    const e = entry(mapCase("flux-diffusers-peft"), "transformer.transformer_blocks.0.attn.to_out.0");
    expect(e.status).toBe("placed");
    expect(e.unread).toEqual(["transformer.transformer_blocks.0.attn.to_out.0.lora_magnitude_vector"]);
  });
});

/** Renames a fixture module key into another layout and checks it lands on the same targets. */
function samePlacement(name: string, from: string, to: string, suffixes: readonly string[]): void {
  const reference = entry(mapCase(name), from);
  expect(reference.status).toBe("placed");
  const map = mapCase(
    name,
    suffixes.map((s) => `${to}${s}`),
  );
  const e = entry(map, to);
  expect(e.status, to).toBe("placed");
  expect(e.targets.filter((t) => t.part === "weight")).toEqual(
    reference.targets.filter((t) => t.part === "weight"),
  );
}

describe("the same module in every producer layout", () => {
  const lora = [".lora_up.weight", ".lora_down.weight", ".alpha"];
  const peft = [".lora_A.weight", ".lora_B.weight"];

  it("Flux: diffusers, PEFT in one file, LyCORIS, OneTrainer, no prefix (diffusers names) → the same fused rows", () => {
    const from = "transformer.single_transformer_blocks.3.proj_mlp";
    const path = "single_transformer_blocks.3.proj_mlp";
    samePlacement("flux-diffusers-peft", from, `base_model.model.${path}`, peft);
    samePlacement("flux-diffusers-peft", from, `lycoris_${path.replace(/\./g, "_")}`, lora);
    samePlacement("flux-diffusers-peft", from, `lora_transformer_${path.replace(/\./g, "_")}`, lora);
    samePlacement("flux-diffusers-peft", from, path, peft);
    samePlacement("flux-diffusers-peft", "transformer.norm_out.linear", "lycoris_norm_out_linear", lora);
  });

  it("Flux: BFL names with and without the diffusion_model. prefix and as kohya keys", () => {
    const from = "diffusion_model.double_blocks.1.img_attn.proj";
    samePlacement("flux-onetrainer-aitoolkit", from, "double_blocks.1.img_attn.proj", lora);
    samePlacement("flux-onetrainer-aitoolkit", from, "lora_unet_double_blocks_1_img_attn_proj", lora);
  });

  it("SD1.5 UNet: kohya, LyCORIS wrapper, ComfyUI native, no prefix, legacy attn-procs", () => {
    const from = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q";
    samePlacement(
      "sd15-kohya-lokr",
      from,
      "lycoris_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q",
      lora,
    );
    samePlacement(
      "sd15-kohya-lokr",
      from,
      "lora_unet_input_blocks_1_1_transformer_blocks_0_attn1_to_q",
      lora,
    );
    samePlacement(
      "sd15-kohya-lokr",
      from,
      "diffusion_model.input_blocks.1.1.transformer_blocks.0.attn1.to_q",
      peft,
    );
    samePlacement("sd15-kohya-lokr", from, "input_blocks.1.1.transformer_blocks.0.attn1.to_q", peft);
    samePlacement(
      "sd15-kohya-lokr",
      from,
      "down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_q",
      ["_lora.up.weight", "_lora.down.weight"],
    );
  });

  it("SDXL text encoders: kohya, diffusers and ComfyUI's generic names → the same in_proj rows", () => {
    const from = "lora_te2_text_model_encoder_layers_0_self_attn_q_proj";
    samePlacement(
      "sdxl-kohya-lokr",
      from,
      "text_encoder_2.text_model.encoder.layers.0.self_attn.q_proj",
      peft,
    );
    samePlacement(
      "sdxl-kohya-lokr",
      from,
      "text_encoders.clip_g.transformer.text_model.encoder.layers.0.self_attn.q_proj",
      lora,
    );
    samePlacement(
      "sdxl-kohya-lokr",
      "lora_te1_text_model_encoder_layers_2_self_attn_q_proj",
      "text_encoder.text_model.encoder.layers.2.self_attn.q_proj",
      [".lora_linear_layer.up.weight", ".lora_linear_layer.down.weight"],
    );
  });
});

describe("assertAdapterKeysPlaced", () => {
  it("passes when every tensor is read and every target applied", () => {
    expect(() => assertAdapterKeysPlaced(mapCase("sd15-kohya-locon-mixed"))).not.toThrow();
    expect(() => assertAdapterKeysPlaced(mapCase("sdxl-kohya-lokr"))).not.toThrow();
  });

  it("throws unmatched_key naming the first problem, its closest name and the count", () => {
    const run = (): void => assertAdapterKeysPlaced(mapCase("sd15-kohya-lokr"));
    expect(run).toThrow(LycorisFormatError);
    try {
      run();
    } catch (error) {
      const e = error as LycorisFormatError;
      expect(e.kind).toBe("unmatched_key");
      expect(e.module).toBe("lora_te_text_model_encoder_layers_12_self_attn_q_proj");
      expect(e.message).toContain("closest: lora_te_text_model_encoder_layers_11_self_attn_q_proj");
      expect(e.message).toContain("and 2 more module keys");
    }
  });
});

describe("typed errors", () => {
  const shapes = (name: string): Map<string, readonly number[]> =>
    new Map(baseTensors(name).map((t) => [t.name, t.shape]));

  it("an unrecognised checkpoint", () => {
    const run = (): AdapterKeyMap =>
      mapAdapterKeys({ "encoder.layer.0.weight": [4, 4] }, ["x.lokr_w1"], { registry });
    expect(run).toThrow(LycorisFormatError);
    expect(run).toThrow(/base checkpoint not recognised/);
  });

  it("a fused in_proj without 3·width rows", () => {
    const base = shapes("sdxl-kohya-lokr");
    base.set("conditioner.embedders.1.model.transformer.resblocks.0.attn.in_proj_weight", [25, 8]);
    expect(() => mapAdapterKeys(base, [], { registry })).toThrow(
      expect.objectContaining({
        kind: "shape_mismatch",
        module: expect.stringContaining("resblocks.0.attn.in_proj"),
      }),
    );
  });

  it("a Flux checkpoint whose width cannot be read", () => {
    const base = new Map([...shapes("flux-kohya-bfl")].filter(([n]) => !/img_in|img_attn/.test(n)));
    expect(() => mapAdapterKeys(base, [], { registry })).toThrow(
      expect.objectContaining({ kind: "shape_mismatch" }),
    );
  });

  it("accepts the base as a map, a record or a header's tensor list alike", () => {
    const list = baseTensors("sdxl-kohya-lokr");
    const names = adapterNames("sdxl-kohya-lokr");
    const fromList = mapAdapterKeys(list, names, { registry });
    expect(mapAdapterKeys(shapes("sdxl-kohya-lokr"), names, { registry })).toEqual(fromList);
    expect(mapAdapterKeys(Object.fromEntries(shapes("sdxl-kohya-lokr")), names, { registry })).toEqual(
      fromList,
    );
  });
});
