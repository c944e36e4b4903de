import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  fixtureTarget,
  keyMapTarget,
  LAYOUTS,
  layoutsBaseFile,
  layoutsExpected,
} from "../../../test-support/lycoris-layouts";
import { expectOneLineError, lines, runCli } from "./support/run-cli";

/**
 * `lycoris inspect --base` and `lycoris convert --layout` on fixtures/lycoris-layouts: the printed
 * mapping (text and JSON) must be ComfyUI's key map in expected.json (module keys, targets, rows,
 * functions, applied, kinds, the tensors it does not load); a converted file must place onto the
 * same targets. Names and integers only: no tolerance.
 */

const tmp = mkdtempSync(join(tmpdir(), "lycoris-cli-layouts-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const adapterOf = (name: string): string => join(LAYOUTS, name, "adapter.safetensors");
const sorted = <T>(xs: readonly T[]): T[] =>
  [...xs].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

interface Slice {
  dim: number;
  start: number;
  size: number;
}
interface PlacementJson {
  family: string;
  entries: Array<{
    moduleKey: string;
    kind: string | null;
    status: string;
    message: string | null;
    closest: Array<{ key: string; tensor: string }>;
    targets: Array<{
      comfyKey: string;
      comfyOffset: Slice | null;
      function: string | null;
      tensor: string | null;
      slice: Slice | null;
      applied: boolean;
    }>;
  }>;
  notLoaded: string[];
  totals: { moduleKeys: number; placed: number; notApplied: number; notPlaced: number; notLoaded: number };
}

function fromJson(p: PlacementJson): Record<string, unknown[]> {
  return Object.fromEntries(
    p.entries
      .filter((e) => e.targets.length > 0)
      .map((e) => [e.moduleKey, e.targets.map((t) => keyMapTarget(e.kind, t))]),
  );
}

function inspectJson(adapter: string, base: string): PlacementJson {
  const run = runCli(["inspect", adapter, "--base", base, "--json"]);
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as PlacementJson;
}

/** `lycoris convert <case adapter> --layout <layout> --base <case base> --out <out> ...extra`. */
const convert = (name: string, layout: string, out: string, ...extra: string[]) =>
  runCli([
    "convert",
    adapterOf(name),
    "--layout",
    layout,
    "--base",
    layoutsBaseFile(name, tmp),
    "--out",
    out,
    ...extra,
  ]);

const CASES = [
  "sd15-kohya-lokr",
  "sd15-diffusers-legacy",
  "sdxl-kohya-lora-full",
  "flux-kohya-bfl",
  "flux-diffusers-peft",
  "flux-lycoris-simpletuner",
];

describe("lycoris inspect --base: ComfyUI's key map, then what it could not place", () => {
  for (const name of CASES) {
    const expected = layoutsExpected(name);
    it(`${name} --json`, () => {
      const p = inspectJson(adapterOf(name), layoutsBaseFile(name, tmp));
      expect(fromJson(p)).toEqual(
        Object.fromEntries(
          Object.entries(expected.modules).map(([k, m]) => [k, m.targets.map(fixtureTarget)]),
        ),
      );
      expect(sorted(p.notLoaded)).toEqual(sorted(expected.not_loaded));
      for (const e of p.entries.filter((x) => x.targets.length === 0)) expect(e.message).not.toBeNull();
    });

    it(`${name} (text)`, () => {
      const run = runCli(["inspect", adapterOf(name), "--base", layoutsBaseFile(name, tmp)]);
      expect(run.code).toBe(0);
      const out = lines(run.stdout);
      const mappingStart = out.findIndex((l) => l.startsWith("key mapping ("));
      const mappedCount = Object.keys(expected.modules).length;
      expect(out[mappingStart]).toBe(
        `key mapping (${mappedCount} module key${mappedCount === 1 ? "" : "s"}):`,
      );
      for (const [key, m] of Object.entries(expected.modules)) {
        for (const t of m.targets) {
          const o = t.checkpoint?.offset;
          const cells = [
            key,
            t.algo,
            t.checkpoint?.tensor ?? `(${t.comfy_key.key}: not in the checkpoint)`,
            ...(o === undefined ? [] : [`rows [${o.start}, ${o.start + o.size})`]),
            ...(t.comfy_key.function === undefined ? [] : [t.comfy_key.function]),
            t.applied ? "applied" : "NOT APPLIED",
          ];
          const row = out.find((l) => l.trim().split(/\s+/)[0] === key && cells.every((c) => l.includes(c)));
          expect(row, `${key} → ${cells.join(" ")}`).toBeDefined();
        }
      }
      if (expected.not_loaded.length > 0) {
        const at = out.findIndex((l) => l.startsWith("not loaded ("));
        const n = expected.not_loaded.length;
        expect(out[at]).toBe(`not loaded (${n} tensor${n === 1 ? "" : "s"}):`);
        expect(sorted(out.slice(at + 1, at + 1 + expected.not_loaded.length).map((l) => l.trim()))).toEqual(
          sorted(expected.not_loaded),
        );
      }
    });
  }

  it("a key that is not placed is printed with the reason and the closest base names", () => {
    const run = runCli([
      "inspect",
      adapterOf("flux-kohya-bfl"),
      "--base",
      layoutsBaseFile("flux-kohya-bfl", tmp),
    ]);
    const out = lines(run.stdout);
    const at = out.indexOf("not placed (1 module key):");
    expect(at).toBeGreaterThan(0);
    expect(out[at + 1]).toMatch(
      /^ {2}'lora_unet_double_blocks_0_img_attn_qvk' \(kohya\) names no module of this flux checkpoint/,
    );
    expect(out[at + 2]).toMatch(
      /^ {4}closest: lora_unet_double_blocks_0_img_attn_qkv \(double_blocks\.0\.img_attn\.qkv\.weight\)/,
    );
  });
});

describe("lycoris convert --layout", () => {
  it("writes an SDXL kohya file in the comfy and diffusers layouts; each places onto ComfyUI's targets", () => {
    const name = "sdxl-kohya-lokr";
    const base = layoutsBaseFile(name, tmp);
    const want = sorted(
      Object.values(layoutsExpected(name).modules).flatMap((m) => m.targets.map(fixtureTarget)),
    );
    for (const layout of ["kohya", "comfy", "diffusers"]) {
      const out = join(tmp, `${name}.${layout}.safetensors`);
      const run = convert(name, layout, out);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`to the ${layout} layout: .* \\(5 module keys, \\d+ tensors\\)`));
      const p = inspectJson(out, base);
      expect(sorted(Object.values(fromJson(p)).flat())).toEqual(want);
      expect(p.notLoaded).toEqual([]);
    }
  });

  it("refuses a module the layout cannot express, naming it and the layout that can; nothing written", () => {
    const name = "flux-diffusers-peft";
    const out = join(tmp, "refused.safetensors");
    const run = convert(name, "kohya", out);
    expectOneLineError(
      run,
      /cannot write 8 module keys in the kohya layout: 'transformer\.norm_out\.linear' patches 'diffusion_model\.final_layer\.adaLN_modulation\.1\.weight' with swap_scale_shift, which the kohya layout has no key for \(the diffusers layout can\)/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it("--drop leaves them out with one warning each and writes the rest", () => {
    const name = "flux-diffusers-peft";
    const out = join(tmp, "dropped.safetensors");
    const run = convert(name, "comfy", out, "--drop");
    expect(run.code).toBe(0);
    expect(lines(run.stderr)).toHaveLength(8);
    for (const l of lines(run.stderr)) expect(l).toMatch(/^warning: left out \d+ tensors? of /);
    expect(run.stdout).toMatch(/\(1 module key, 2 tensors, 8 module keys left out\)/);
  });

  it("--layout needs --base and takes no PEFT-direction options", () => {
    const adapter = adapterOf("sd15-kohya-lokr");
    const out = join(tmp, "x.safetensors");
    expectOneLineError(runCli(["convert", adapter, "--layout", "comfy", "--out", out]), /needs --base/, 2);
    expectOneLineError(
      runCli(["convert", adapter, "--layout", "comfy", "--base", adapter, "--to", "peft", "--out", out]),
      /--to does not apply with --layout/,
      2,
    );
  });
});
