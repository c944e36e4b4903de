import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LycorisFormatError, TARGET_LAYOUTS } from "@lycoris-ts/lycoris-format";
import { parseSafetensors } from "@lycoris-ts/safetensors";
import { afterAll, describe, expect, it } from "vitest";
import {
  fixtureTarget,
  keyMapTarget,
  LAYOUTS,
  type LayoutsExpected,
  layoutsBaseFile,
  layoutsCases,
  layoutsExpected,
} from "../../../test-support/lycoris-layouts";
import { AdapterFilesError, convertLayout, inspectPlacement, type PlacementReport } from "../src/index";
import { registry } from "./support/fixtures";

/**
 * inspectPlacement and convertLayout on fixtures/lycoris-layouts: the placement must equal
 * ComfyUI's key map in expected.json (module keys, targets, rows, functions, applied, kinds, the
 * tensors it does not load); a converted file, placed again, must put every module where ComfyUI put
 * the original key, with the very same tensor bytes. Names, integers and bytes: no tolerance.
 */

const tmp = mkdtempSync(join(tmpdir(), "adapter-files-layouts-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const reg = registry();
const CASES = layoutsCases();
const adapterOf = (name: string): string => join(LAYOUTS, name, "adapter.safetensors");
const sorted = (xs: readonly string[]): string[] => [...xs].sort();

/** The tensor suffixes of the fixtures' modules, and kohya's name for each LoRA form (FORMAT.md "Layout"). */
const KNOWN_SUFFIX = /^(\.|_lora\.)/;
const LORA_FORMS: Readonly<Record<string, string>> = {
  ".lora_A.weight": ".lora_down.weight",
  ".lora_B.weight": ".lora_up.weight",
  "_lora.down.weight": ".lora_down.weight",
  "_lora.up.weight": ".lora_up.weight",
  ".lora_linear_layer.down.weight": ".lora_down.weight",
  ".lora_linear_layer.up.weight": ".lora_up.weight",
};
const kohyaSuffix = (suffix: string): string => LORA_FORMS[suffix] ?? suffix;

/** The placed module keys of a report, each with its targets in the comparable form. */
function placedModules(r: PlacementReport, rename: (key: string) => string = (k) => k) {
  return Object.fromEntries(
    r.entries
      .filter((e) => e.status === "placed" || e.status === "not_applied")
      .map((e) => [rename(e.moduleKey), e.targets.map((t) => keyMapTarget(e.kind, t))]),
  );
}

/** expected.json's modules (those `keep` accepts), each with its targets in the comparable form. */
function fixtureModules(expected: LayoutsExpected, keep: (key: string) => boolean = () => true) {
  return Object.fromEntries(
    Object.entries(expected.modules)
      .filter(([k]) => keep(k))
      .map(([k, m]) => [k, m.targets.map(fixtureTarget)]),
  );
}

describe("inspectPlacement = ComfyUI's key map", () => {
  for (const name of CASES) {
    it(name, async () => {
      const base = layoutsBaseFile(name, tmp);
      const r = await inspectPlacement(adapterOf(name), base, { registry: reg });
      const expected = layoutsExpected(name);
      expect(placedModules(r)).toEqual(fixtureModules(expected));
      expect(sorted(r.notLoaded)).toEqual(sorted(expected.not_loaded));
      expect(r.totals.placed + r.totals.notApplied).toBe(Object.keys(expected.modules).length);
      expect(r.totals.notLoaded).toBe(expected.not_loaded.length);
      for (const e of r.entries.filter(
        (x) => x.status === "no_such_module" || x.status === "unknown_layout",
      )) {
        expect(e.message, e.moduleKey).not.toBeNull();
      }
    });
  }
});

describe("convertLayout: same targets, same tensor bytes, in every layout", () => {
  for (const name of CASES) {
    for (const layout of TARGET_LAYOUTS) {
      it(`${name} → ${layout}`, async () => {
        const base = layoutsBaseFile(name, tmp);
        const out = join(tmp, `${name}.${layout}.safetensors`);
        const s = await convertLayout({
          adapter: adapterOf(name),
          base,
          out,
          layout,
          registry: reg,
          drop: true,
        });
        const original = parseSafetensors(new Uint8Array(readFileSync(adapterOf(name))));
        const written = parseSafetensors(new Uint8Array(readFileSync(out)));
        expect(written.metadata).toEqual(original.metadata);
        // Every written tensor is an input tensor under its new name: same dtype, shape and values.
        const dropped = new Set(s.dropped.flatMap((d) => d.tensors));
        const kept = [...original.tensors.keys()].filter((n) => !dropped.has(n));
        expect(written.tensors.size).toBe(kept.length);
        const from = new Map(s.modules.map((m) => [m.to, m.from]));
        for (const m of s.modules) {
          for (const old of kept.filter(
            (k) => k.startsWith(m.from) && KNOWN_SUFFIX.test(k.slice(m.from.length)),
          )) {
            const n = m.to + kohyaSuffix(old.slice(m.from.length));
            const o = original.tensors.get(old)!;
            const t = written.tensors.get(n);
            expect(t, `${old} → ${n}`).toBeDefined();
            expect(t!.shape).toEqual(o.shape);
            expect(written.dtypes.get(n)).toBe(original.dtypes.get(old));
            expect(t!.data).toEqual(o.data);
          }
        }
        // Placed again, every written module lands where ComfyUI put the original key.
        const again = await inspectPlacement(out, base, { registry: reg });
        expect(again.notLoaded).toEqual([]);
        const written_ = new Set(s.modules.map((m) => m.from));
        expect(placedModules(again, (k) => from.get(k)!)).toEqual(
          fixtureModules(layoutsExpected(name), (k) => written_.has(k)),
        );
      });
    }
  }

  it("takes one adapter file, not a PEFT directory (typed)", async () => {
    const err = await convertLayout({
      adapter: LAYOUTS,
      base: layoutsBaseFile("sd15-kohya-lokr", tmp),
      out: join(tmp, "dir.safetensors"),
      layout: "kohya",
      registry: reg,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdapterFilesError);
    expect((err as AdapterFilesError).kind).toBe("unsupported");
  });

  it("refuses what a layout cannot express (typed, naming the module); nothing is written", async () => {
    const name = "flux-diffusers-peft";
    const out = join(tmp, "refused.safetensors");
    const base = layoutsBaseFile(name, tmp);
    const err = await convertLayout({
      adapter: adapterOf(name),
      base,
      out,
      layout: "kohya",
      registry: reg,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LycorisFormatError);
    expect((err as LycorisFormatError).kind).toBe("not_convertible");
    expect((err as LycorisFormatError).message).toMatch(/cannot write 8 module keys in the kohya layout/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp).filter((f) => f.includes(".tmp"))).toEqual([]);
  });
});
