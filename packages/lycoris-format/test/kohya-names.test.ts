import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parseSafetensorsHeader } from "@lycoris-ts/safetensors";
import { describe, expect, test } from "vitest";
import { caseDirs, LYCORIS_FIXTURES } from "../../../test-support/fixtures";
import { KohyaKeyMap, KohyaNameError, kohyaKeyToPeft, kohyaModuleKey, peftKeyToKohya } from "../src/index";

interface LycorisExpected {
  file_keys: string[];
  prefixes: Record<string, string>;
  key_map: Record<string, string>;
  peft_conversion: { status: string } | null;
}

const cases = caseDirs(LYCORIS_FIXTURES).map((dir) => ({
  name: basename(dir),
  dir,
  expected: JSON.parse(readFileSync(join(dir, "expected.json"), "utf8")) as LycorisExpected,
  modules: (
    JSON.parse(readFileSync(join(dir, "model.json"), "utf8")) as { modules: { name: string }[] }
  ).modules.map((m) => m.name),
}));

const fileKeys = (path: string): string[] =>
  parseSafetensorsHeader(readFileSync(path)).tensors.map((t) => t.name);

describe("kohya / LyCORIS key names", () => {
  test("forward naming", () => {
    expect(peftKeyToKohya("transformer_blocks.0.attn.to_out.0", "lokr_w1")).toBe(
      "lycoris_transformer_blocks_0_attn_to_out_0.lokr_w1",
    );
    expect(peftKeyToKohya("mid_block.proj_in", "alpha", "lora_unet")).toBe(
      "lora_unet_mid_block_proj_in.alpha",
    );
    expect(kohyaModuleKey("a.b")).toBe("lycoris_a_b");
  });

  test("the fixture cases are present", () => {
    expect(cases.length).toBeGreaterThan(10);
  });

  test.each(cases.map((c) => [c.name, c]))(
    "%s: every file key resolves to the module in key_map",
    (_n, c) => {
      const names = new KohyaKeyMap(c.modules, c.expected.prefixes);
      const keys = fileKeys(join(c.dir, "adapter.safetensors"));
      expect([...keys].sort()).toEqual([...c.expected.file_keys].sort());
      for (const key of keys) {
        const [moduleKey, ...rest] = key.split(".");
        const hit = names.fromKohya(key);
        expect(hit).not.toBeNull();
        expect(hit!.moduleName).toBe(c.expected.key_map[moduleKey!]);
        expect(hit!.param).toBe(rest.join("."));
        expect(c.expected.prefixes[hit!.prefix]).toBeDefined();
        expect(names.toKohya(hit!.moduleName, hit!.param)).toBe(key);
      }
    },
  );

  const twins = cases.filter((c) => c.expected.peft_conversion?.status === "converted");
  test("LyCORIS cases with PEFT twins exist", () => {
    expect(twins.length).toBeGreaterThan(5);
  });

  test.each(twins.map((c) => [c.name, c]))("%s: PEFT twin keys map onto the LyCORIS file's keys", (_n, c) => {
    const names = new KohyaKeyMap(c.modules, c.expected.prefixes);
    const lycorisKeys = new Set(c.expected.file_keys);
    const peftKeys = fileKeys(join(c.dir, "peft", "adapter_model.safetensors"));
    expect(peftKeys.length).toBeGreaterThan(0);
    for (const key of peftKeys) {
      const path = key.slice("base_model.model.".length);
      const dot = path.lastIndexOf(".");
      const kohya = names.toKohya(path.slice(0, dot), path.slice(dot + 1));
      expect(lycorisKeys.has(kohya)).toBe(true);
      expect(names.fromKohya(kohya)).toMatchObject({
        moduleName: path.slice(0, dot),
        param: path.slice(dot + 1),
      });
    }
  });

  test("the wrapper prefix with module paths below the wrapped module", () => {
    const c = cases.find((x) => x.name === "lokr-wrapper-dit")!;
    const root = c.expected.prefixes.lycoris!;
    for (const [moduleKey, moduleName] of Object.entries(c.expected.key_map)) {
      expect(kohyaModuleKey(moduleName.slice(root.length + 1))).toBe(moduleKey);
      const below = c.modules.filter((m) => m.startsWith(`${root}.`)).map((m) => m.slice(root.length + 1));
      expect(kohyaKeyToPeft(`${moduleKey}.lokr_w1`, below)).toMatchObject({
        moduleName: moduleName.slice(root.length + 1),
        param: "lokr_w1",
        prefix: "lycoris",
      });
    }
  });

  test("ambiguity is resolved by the model's module set, or reported", () => {
    expect(kohyaKeyToPeft("lycoris_a_b_c.lokr_w1", ["a", "a.b_c"])).toMatchObject({ moduleName: "a.b_c" });
    expect(kohyaKeyToPeft("lycoris_a_b_c.lokr_w1", ["a_b", "a_b.c"])).toMatchObject({ moduleName: "a_b.c" });
    expect(() => kohyaKeyToPeft("lycoris_a_b_c.lokr_w1", ["a.b_c", "a_b.c"])).toThrow(KohyaNameError);
    try {
      kohyaKeyToPeft("lycoris_a_b_c.alpha", ["a.b_c", "a_b.c"]);
    } catch (error) {
      expect(error).toMatchObject({ key: "lycoris_a_b_c", candidates: ["a.b_c", "a_b.c"] });
    }
    expect(kohyaKeyToPeft("lycoris_x.lokr_w1", ["a"])).toBeNull();
    expect(kohyaKeyToPeft("no-dot", ["a"])).toBeNull();
    // two sub-models: the module is named by the prefix of the root that holds it
    const names = new KohyaKeyMap(["unet", "unet.conv_in", "te", "te.fc1"], {
      lora_unet: "unet",
      lora_te: "te",
    });
    expect(names.toKohya("te.fc1", "lokr_w1")).toBe("lora_te_fc1.lokr_w1");
    expect(names.fromKohya("lora_unet_conv_in.lokr_w2")).toEqual({
      moduleName: "unet.conv_in",
      param: "lokr_w2",
      prefix: "lora_unet",
    });
    expect(() => names.toKohya("other.x", "p")).toThrow("under none of the prefixes");
  });
});
