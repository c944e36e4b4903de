import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Tensor } from "@lycoris-ts/kernels";
import { readSafetensorsSync } from "@lycoris-ts/safetensors";
import { afterAll, describe, expect, it } from "vitest";
import { LAYOUT_FIXTURES, layoutExcess } from "../../../test-support/layout-tolerance";
import { AdapterFilesError, type MergeWarning, mergeIntoBase } from "../src/index";
import { LYCORIS, registry, worstExcess } from "./support/fixtures";

const tmp = mkdtempSync(join(tmpdir(), "adapter-files-into-base-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const reg = registry();

type Tensors = ReadonlyMap<string, Tensor<Float32Array>>;
const read = (path: string): Tensors => readSafetensorsSync(path).tensors;
const layout = (name: string, file: string): string => join(LAYOUT_FIXTURES, name, file);

/** Every tensor of `out`: ComfyUI's `merged/<s>/<name>` where it has one, else the base's bytes. */
function checkAgainstComfy(name: string, out: string, strength: string): void {
  const base = read(layout(name, "base.safetensors"));
  const expected = read(layout(name, "expected.safetensors"));
  const merged = read(out);
  expect([...merged.keys()]).toEqual([...base.keys()]);
  let patched = 0;
  for (const [key, b] of base) {
    const want = expected.get(`merged/${strength}/${key}`);
    if (want === undefined) expect(merged.get(key)!.data, key).toEqual(b.data);
    else {
      patched++;
      expect(layoutExcess(merged.get(key)!.data, want.data), key).toBeLessThanOrEqual(0);
    }
  }
  expect(patched).toBeGreaterThan(0);
}

interface LayoutExpected {
  readonly not_loaded: readonly string[];
  readonly mapped_but_not_applied: readonly { readonly key: string }[];
}

describe("mergeIntoBase on ComfyUI's key-layout fixtures (fixtures/lycoris-layouts)", () => {
  // DoRA on LoRA/LoKr/LoHa; SDXL te2 in_proj rows, diff/diff_b; Flux fused q/k/v + proj_mlp rows and
  // swap_scale_shift; LyCORIS wrapper with a diff_b on a slice ComfyUI drops; kohya LoKr with not-loaded keys.
  const cases = [
    "sd15-kohya-dora",
    "sdxl-kohya-lora-full",
    "flux-diffusers-peft",
    "flux-lycoris-simpletuner",
    "sd15-kohya-lokr",
  ];
  for (const name of cases) {
    for (const strength of ["1.0", "0.5"]) {
      it(`${name} at strength ${strength} = ComfyUI's merged weights; unplaced keys reported`, async () => {
        const out = join(tmp, `${name}-${strength}.safetensors`);
        const seen: MergeWarning[] = [];
        const s = await mergeIntoBase({
          base: layout(name, "base.safetensors"),
          adapters: [{ input: layout(name, "adapter.safetensors"), strength: Number(strength) }],
          out,
          registry: reg,
          onWarning: (w) => seen.push(w),
        });
        checkAgainstComfy(name, out, strength);
        expect(seen).toEqual(s.warnings);
        const expected = JSON.parse(readFileSync(layout(name, "expected.json"), "utf8")) as LayoutExpected;
        const reported = new Set(s.warnings.flatMap((w) => w.tensors));
        for (const t of expected.not_loaded) expect(reported, t).toContain(t);
        for (const { key } of expected.mapped_but_not_applied) {
          expect(
            s.warnings.some((w) => w.message.includes(`'${key}'`)),
            key,
          ).toBe(true);
        }
        if (expected.not_loaded.length + expected.mapped_but_not_applied.length === 0) {
          expect(s.warnings).toEqual([]);
        }
        expect(s.adapters[0]!.resolution).toBe("key-map");
      });
    }
  }

  it("a bias delta on a fused slice (ComfyUI's '().bias') is reported with only the tensor it drops", async () => {
    const name = "flux-lycoris-simpletuner";
    const s = await mergeIntoBase({
      base: layout(name, "base.safetensors"),
      adapters: [{ input: layout(name, "adapter.safetensors") }],
      out: join(tmp, "bias-drop.safetensors"),
      registry: reg,
    });
    expect(s.warnings.map((w) => [w.moduleKey, w.status, w.tensors])).toEqual([
      ["lycoris_transformer_blocks_0_attn_to_q", "placed", ["lycoris_transformer_blocks_0_attn_to_q.diff_b"]],
    ]);
    expect(s.warnings[0]!.message).toMatch(/\(\)\.bias/);
  });

  it("no adapters is an input error", async () => {
    const run = mergeIntoBase({
      base: layout("sd15-kohya-lokr", "base.safetensors"),
      adapters: [],
      out: join(tmp, "none.safetensors"),
      registry: reg,
    });
    await expect(run).rejects.toMatchObject({ kind: "input" });
  });

  it("strict: unplaced keys are a typed error before any output exists", async () => {
    const out = join(tmp, "strict.safetensors");
    const run = mergeIntoBase({
      base: layout("sd15-kohya-lokr", "base.safetensors"),
      adapters: [{ input: layout("sd15-kohya-lokr", "adapter.safetensors") }],
      out,
      registry: reg,
      strict: true,
    });
    await expect(run).rejects.toBeInstanceOf(AdapterFilesError);
    await expect(run).rejects.toMatchObject({ kind: "unplaced" });
    await expect(run).rejects.toThrow(/strict merge: .*closest: /);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp).filter((f) => f.includes(".tmp"))).toEqual([]);
  });

  it("two adapters in one pass = the second merged into the first's output; each = its own ComfyUI numbers", async () => {
    const baseName = "sd15-kohya-locon-mixed";
    const other = "sd15-kohya-lokr"; // same SD1.5 names, another base: only its (linear, non-DoRA) ΔW carries over
    const base = layout(baseName, "base.safetensors");
    const a = layout(other, "adapter.safetensors");
    const b = layout(baseName, "adapter.safetensors");
    const once = join(tmp, "two-at-once.safetensors");
    await mergeIntoBase({
      base,
      adapters: [
        { input: a, strength: 0.5 },
        { input: b, strength: 0.5 },
      ],
      out: once,
      registry: reg,
    });
    const first = join(tmp, "two-first.safetensors");
    const second = join(tmp, "two-second.safetensors");
    await mergeIntoBase({ base, adapters: [{ input: a, strength: 0.5 }], out: first, registry: reg });
    await mergeIntoBase({ base: first, adapters: [{ input: b, strength: 0.5 }], out: second, registry: reg });
    const got = read(once);
    const sequential = read(second);
    for (const [key, t] of sequential) expect(got.get(key)!.data, key).toEqual(t.data);

    const expB = read(layout(baseName, "expected.safetensors"));
    const expA = read(layout(other, "expected.safetensors"));
    const baseA = read(layout(other, "base.safetensors"));
    const w0 = read(base);
    let checked = 0;
    for (const [key, t] of got) {
      const fromB = expB.get(`merged/0.5/${key}`);
      const fromA = expA.get(`merged/0.5/${key}`);
      expect(fromA !== undefined && fromB !== undefined, key).toBe(false);
      if (fromB !== undefined) expect(layoutExcess(t.data, fromB.data), key).toBeLessThanOrEqual(0);
      if (fromA !== undefined) {
        // W0(b) + 0.5·ΔW, with 0.5·ΔW = merged/0.5 − W0(a) from the other case
        const want = w0.get(key)!.data.map((v, i) => v + fromA.data[i]! - baseA.get(key)!.data[i]!);
        expect(layoutExcess(t.data, want), key).toBeLessThanOrEqual(0);
      }
      if (fromA !== undefined || fromB !== undefined) checked++;
    }
    expect(checked).toBeGreaterThan(4);
  });
});

describe("mergeIntoBase with a PEFT directory and a kohya file", () => {
  it("lokr-conv2d: the kohya file at 1 and its PEFT conversion at 0.5 add up to W0 + 1.5·ΔW", async () => {
    const c = join(LYCORIS, "lokr-conv2d");
    const out = join(tmp, "mixed.safetensors");
    const s = await mergeIntoBase({
      base: join(c, "base.safetensors"),
      adapters: [
        { input: join(c, "adapter.safetensors"), strength: 1 },
        { input: join(c, "peft"), strength: 0.5 },
      ],
      out,
      registry: reg,
    });
    expect(s.adapters.map((a) => [a.format, a.resolution])).toEqual([
      ["file", "prefixes"],
      ["peft", null],
    ]);
    const w0 = read(join(c, "base.safetensors"));
    const expected = read(join(c, "expected.safetensors"));
    const merged = read(out);
    let checked = 0;
    for (const [key, t] of merged) {
      const full = expected.get(`merged/${key}`);
      if (full === undefined) {
        expect(t.data, key).toEqual(w0.get(key)!.data);
        continue;
      }
      const half = expected.get(`delta/0.5/${key.slice(0, -".weight".length)}`)!.data;
      // the fixture's tolerance, 1e-5·(1+|e|) (kohya vs PEFT rebuild of the same factors, float32)
      expect(
        worstExcess(
          t.data,
          full.data.map((v, i) => v + half[i]!),
        ),
        key,
      ).toBeLessThanOrEqual(0);
      checked++;
    }
    expect(checked).toBe(s.patchedTensors);
  });
});
