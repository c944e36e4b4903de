import { describe, expect, it } from "vitest";
import { fixtureTarget, keyMapTarget } from "../../../test-support/lycoris-layouts";
import {
  LycorisFormatError,
  mapAdapterKeys,
  relayoutAdapterKeys,
  TARGET_LAYOUTS,
  type TargetLayout,
} from "../src/index";
import { adapterNames, baseTensors, expectedOf, indexCases, keyMapRegistry } from "./key-map-support";

/**
 * Round trip of every fixtures/lycoris-layouts adapter through each target layout: the renamed file,
 * mapped again against the same base, must place every written module exactly where ComfyUI placed
 * the original key (expected.json: targets, rows, function, applied, kind, tensors read). Names and
 * integers only: no tolerance.
 */

const registry = keyMapRegistry();

/**
 * The fixture modules no key of a layout can name, read off each module's ComfyUI target in
 * expected.json: kohya (`lora_unet_<BFL path>`) and comfy (`diffusion_model.<path>`) name whole Flux
 * tensors only (comfy also `linear1_qkv`, rows [0, 3h) of `linear1`), no `swap_scale_shift`; diffusers
 * has no name for a whole fused `qkv` / `linear1` or for `linear1_qkv`; comfy names only tensors the
 * checkpoint has (the SD1.5 `conv_shortcut` → `skip_connection` target is not in it).
 */
const PEFT_SLICES_AND_FUNCTION = [
  "transformer.transformer_blocks.0.attn.to_q",
  "transformer.transformer_blocks.0.attn.to_k",
  "transformer.transformer_blocks.0.attn.to_v",
  "transformer.transformer_blocks.2.attn.add_q_proj",
  "transformer.single_transformer_blocks.3.attn.to_q",
  "transformer.single_transformer_blocks.3.proj_mlp",
  "transformer.norm_out.linear",
];
const NOT_EXPRESSIBLE: Readonly<Record<string, Partial<Record<TargetLayout, readonly string[]>>>> = {
  "flux-diffusers-peft": { kohya: PEFT_SLICES_AND_FUNCTION, comfy: PEFT_SLICES_AND_FUNCTION },
  "flux-kohya-bfl": {
    diffusers: ["lora_unet_double_blocks_0_img_attn_qkv", "lora_unet_single_blocks_0_linear1"],
  },
  "flux-lycoris-simpletuner": {
    kohya: ["lycoris_transformer_blocks_0_attn_to_q", "lycoris_transformer_blocks_1_attn_to_k"],
    comfy: ["lycoris_transformer_blocks_0_attn_to_q", "lycoris_transformer_blocks_1_attn_to_k"],
  },
  "flux-onetrainer-aitoolkit": {
    kohya: [
      "lora_transformer_transformer_blocks_3_attn_add_k_proj",
      "lora_transformer_single_transformer_blocks_1_attn_to_v",
      "diffusion_model.single_blocks.2.linear1_qkv",
    ],
    comfy: [
      "lora_transformer_transformer_blocks_3_attn_add_k_proj",
      "lora_transformer_single_transformer_blocks_1_attn_to_v",
    ],
    diffusers: ["diffusion_model.single_blocks.2.linear1_qkv"],
  },
  "sd15-kohya-lokr": { comfy: ["lora_unet_down_blocks_0_resnets_0_conv_shortcut"] },
};

/** Each layout's module key prefixes (the producers' own, see FORMAT.md "Adapter layouts"). */
const PREFIXES: Readonly<Record<TargetLayout, RegExp>> = {
  kohya: /^lora_(unet|te|te1|te2)_[^.]+$/,
  comfy: /^(diffusion_model|text_encoders)\./,
  diffusers: /^(unet|transformer|text_encoder|text_encoder_2)\./,
};

const sorted = (xs: readonly string[]): string[] => [...xs].sort();

describe("relayoutAdapterKeys: every lycoris-layouts adapter in every layout places where ComfyUI placed it", () => {
  for (const c of indexCases()) {
    const expected = expectedOf(c.name);
    const names = adapterNames(c.name);
    const base = baseTensors(c.name);
    for (const layout of TARGET_LAYOUTS) {
      it(`${c.name} → ${layout}`, () => {
        const r = relayoutAdapterKeys(base, names, { registry, layout, drop: true });
        const notExpressible = NOT_EXPRESSIBLE[c.name]?.[layout] ?? [];
        // What is written: every fixture module but the inexpressible ones, under the layout's prefixes.
        expect(sorted(r.modules.map((m) => m.from))).toEqual(
          sorted(Object.keys(expected.modules).filter((k) => !notExpressible.includes(k))),
        );
        for (const m of r.modules) expect(m.to, m.from).toMatch(PREFIXES[layout]);
        // What is left out: those modules whole, and the tensors ComfyUI does not load.
        const droppedTensors = r.dropped.flatMap((d) => d.tensors);
        const inexpressibleTensors = notExpressible.flatMap((k) =>
          names.filter((n) => n.startsWith(`${k}.`)),
        );
        expect(sorted(droppedTensors)).toEqual(sorted([...expected.not_loaded, ...inexpressibleTensors]));
        for (const d of r.dropped) expect(d.reason.length, d.moduleKey).toBeGreaterThan(0);

        const again = mapAdapterKeys(base, [...r.renames.values()], { registry });
        expect(again.notLoaded).toEqual([]);
        expect(again.entries.length).toBe(r.modules.length);
        const inverse = new Map([...r.renames].map(([from, to]) => [to, from]));
        for (const m of r.modules) {
          const e = again.entries.find((x) => x.moduleKey === m.to)!;
          const want = expected.modules[m.from]!;
          expect(
            e.targets.map((t) => keyMapTarget(e.kind, t)),
            m.from,
          ).toEqual(want.targets.map(fixtureTarget));
          expect(sorted(e.tensors.map((n) => inverse.get(n)!)), m.from).toEqual(sorted(want.file_keys));
        }
      });
    }
  }
});

describe("relayoutAdapterKeys: names and errors", () => {
  it("writes kohya's names: diffusers module paths for SD, lora_te1/te2 for SDXL, lora_up/lora_down tensors", () => {
    const r = relayoutAdapterKeys(
      baseTensors("sd15-diffusers-legacy"),
      adapterNames("sd15-diffusers-legacy"),
      {
        registry,
        layout: "kohya",
        drop: true,
      },
    );
    expect(r.renames.get("diffusion_model.input_blocks.4.1.proj_in.lora_A.weight")).toBe(
      "lora_unet_down_blocks_1_attentions_0_proj_in.lora_down.weight",
    );
    expect(
      r.renames.get("text_encoder.text_model.encoder.layers.1.self_attn.k_proj.lora_linear_layer.up.weight"),
    ).toBe("lora_te_text_model_encoder_layers_1_self_attn_k_proj.lora_up.weight");
    const x = relayoutAdapterKeys(baseTensors("sdxl-kohya-lokr"), adapterNames("sdxl-kohya-lokr"), {
      registry,
      layout: "diffusers",
    });
    expect(
      x.modules.find((m) => m.from === "lora_te1_text_model_encoder_layers_2_self_attn_q_proj")?.to,
    ).toBe("text_encoder.text_model.encoder.layers.2.self_attn.q_proj");
    expect(
      x.modules.find((m) => m.from === "lora_te2_text_model_encoder_layers_0_self_attn_q_proj")?.to,
    ).toBe("text_encoder_2.text_model.encoder.layers.0.self_attn.q_proj");
  });

  it("refuses a module the layout cannot name, saying which layout can (typed, without drop)", () => {
    const names = adapterNames("flux-diffusers-peft").filter((n) => !n.includes("lora_magnitude_vector"));
    try {
      relayoutAdapterKeys(baseTensors("flux-diffusers-peft"), names, { registry, layout: "kohya" });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(LycorisFormatError);
      const e = error as LycorisFormatError;
      expect(e.kind).toBe("not_convertible");
      expect(e.module).toBe("transformer.norm_out.linear");
      expect(e.message).toContain(
        "'transformer.norm_out.linear' patches 'diffusion_model.final_layer.adaLN_modulation.1.weight' with swap_scale_shift, which the kohya layout has no key for (the diffusers layout can)",
      );
      expect(e.message).toContain("and 6 more module keys");
    }
  });

  it("names the rows of a fused target in the reason", () => {
    const r = relayoutAdapterKeys(baseTensors("flux-diffusers-peft"), adapterNames("flux-diffusers-peft"), {
      registry,
      layout: "comfy",
      drop: true,
    });
    expect(r.dropped.find((d) => d.moduleKey === "transformer.transformer_blocks.0.attn.to_q")?.reason).toBe(
      "'transformer.transformer_blocks.0.attn.to_q' patches rows [0, 8) of 'diffusion_model.double_blocks.0.img_attn.qkv.weight', which the comfy layout has no key for (the diffusers layout can)",
    );
  });

  it("refuses tensors the loaders do not read and keys that are not placed", () => {
    expect(() =>
      relayoutAdapterKeys(baseTensors("flux-kohya-bfl"), adapterNames("flux-kohya-bfl"), {
        registry,
        layout: "comfy",
      }),
    ).toThrow(/cannot write 1 module key in the comfy layout: 'lora_unet_double_blocks_0_img_attn_qvk'/);
  });

  it("refuses two modules that would share one key", () => {
    const names = [
      "lora_te_text_model_encoder_layers_0_mlp_fc1.lora_up.weight",
      "lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight",
      "text_encoder.text_model.encoder.layers.0.mlp.fc1.lora_B.weight",
      "text_encoder.text_model.encoder.layers.0.mlp.fc1.lora_A.weight",
    ];
    expect(() =>
      relayoutAdapterKeys(baseTensors("sd15-kohya-lokr"), names, { registry, layout: "kohya" }),
    ).toThrow(/both patch 'clip_l\.transformer\.text_model\.encoder\.layers\.0\.mlp\.fc1\.weight'/);
  });
});
