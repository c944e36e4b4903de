import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readSafetensorsSync } from "@lycoris-ts/safetensors";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "./support/run-cli";
import { worstExcess } from "./support/worst-excess";

const peftRoot = fileURLToPath(new URL("../../../fixtures/peft/", import.meta.url));
const lycorisRoot = fileURLToPath(new URL("../../../fixtures/lycoris/", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "lycoris-cli-to-lycoris-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// Tolerance of worstExcess: |actual − expected| ≤ 1e-5·(1 + |expected|) elementwise: the expected
// merged weights are PEFT's float32 torch results; ours rebuild the same factors in float32 in
// another order and round the stored alpha to float32 (a few ulps). A wrong scale, rank or layout
// rule exceeds the bound by orders of magnitude.

const caseFiles = (name: string) => {
  const dir = join(peftRoot, name);
  return {
    adapter: join(dir, "adapter"),
    base: join(dir, "base.safetensors"),
    expected: readSafetensorsSync(join(dir, "expected.safetensors")).tensors,
    modules: Object.keys(
      (JSON.parse(readFileSync(join(dir, "expected.json"), "utf8")) as { modules: Record<string, unknown> })
        .modules,
    ),
  };
};

/** Merges `file` into `base` with the CLI's kohya/LyCORIS merge path and returns the merged tensors. */
function mergeWithCli(base: string, file: string, extra: readonly string[] = []) {
  const merged = join(tmp, `${readdirSync(tmp).length}-merged.safetensors`);
  const run = runCli([
    "merge",
    "--base",
    base,
    "--adapter",
    file,
    "--out",
    merged,
    "--no-progress",
    ...extra,
  ]);
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  expect(run.stdout).toContain("merged kohya/LyCORIS adapter");
  return readSafetensorsSync(merged).tensors;
}

describe("lycoris convert <PEFT dir> --to lycoris, then lycoris merge of the written file", () => {
  for (const name of [
    "lokr-linear-full",
    "lokr-linear-decompose-both",
    "lokr-conv2d-effective",
    "lokr-mixed-kinds",
    "loha-conv2d",
    "loha-conv1d-effective",
    "loha-patterns-layers",
  ]) {
    it(`${name}: merged = PEFT's merged/<m>.weight within 1e-5·(1+|e|)`, () => {
      const c = caseFiles(name);
      const out = join(tmp, `${name}.safetensors`);
      const run = runCli(["convert", c.adapter, "--to", "lycoris", "--base", c.base, "--out", out]);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^converted .* to a kohya\/LyCORIS (LOKR|LOHA) file: /);
      const merged = mergeWithCli(c.base, out);
      for (const m of c.modules) {
        const want = c.expected.get(`merged/${m}.weight`)!;
        expect(worstExcess(merged.get(`${m}.weight`)!.data, want.data), m).toBeLessThanOrEqual(0);
      }
      expect(readdirSync(tmp).filter((x) => x.endsWith(".tmp"))).toEqual([]);
    });
  }

  it("detects the direction from a directory input; --adapter-name picks a sub-adapter; --prefix / --module-root name the keys", () => {
    const c = caseFiles("lokr-multi-adapter");
    const out = join(tmp, "multi-other.safetensors");
    const run = runCli([
      "convert",
      c.adapter,
      "--adapter-name",
      "other",
      "--prefix",
      "lora_te",
      "--module-root",
      "model",
      "--out",
      out,
      "-q",
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("");
    const keys = [...readSafetensorsSync(out).tensors.keys()];
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(k).toMatch(/^lora_te_layers_\d+_/);
    const base = readSafetensorsSync(c.base).tensors;
    const merged = mergeWithCli(c.base, out, ["--prefix-map", "lora_te=model"]);
    for (const m of c.modules) {
      const delta = c.expected.get(`delta/other/${m}`);
      if (delta === undefined) continue;
      const w0 = base.get(`${m}.weight`)!.data;
      const want = Float32Array.from(w0, (v, i) => v + delta.data[i]!);
      expect(worstExcess(merged.get(`${m}.weight`)!.data, want), m).toBeLessThanOrEqual(0);
    }
  });

  it("refuses modules_to_save copies with one line naming them (exit 1, nothing written)", () => {
    const c = caseFiles("lokr-modules-to-save");
    const out = join(tmp, "mts.safetensors");
    const run = runCli(["convert", c.adapter, "--out", out]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: .*lm_head.*\n$/);
    expect(run.stderr.split("\n").filter((l) => l.length > 0)).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
  });

  it("refuses to write inside the adapter directory or over the base", () => {
    const c = caseFiles("lokr-linear-full");
    const copy = join(tmp, "adapter-copy");
    mkdirSync(copy);
    for (const f of ["adapter_config.json", "adapter_model.safetensors"])
      copyFileSync(join(c.adapter, f), join(copy, f));
    const inside = runCli(["convert", copy, "--out", join(copy, "adapter_model.safetensors")]);
    expect(inside.code).toBe(1);
    expect(inside.stderr).toMatch(/^error: refusing to write inside the adapter directory/);
    const baseCopy = join(tmp, "base-copy.safetensors");
    copyFileSync(c.base, baseCopy);
    const overBase = runCli(["convert", copy, "--base", baseCopy, "--out", baseCopy]);
    expect(overBase.code).toBe(1);
    expect(overBase.stderr).toMatch(/^error: refusing to overwrite the input/);
  });

  it("usage errors: --to peft needs --base; --prefix only with --to lycoris; a missing input", () => {
    const lyco = join(lycorisRoot, "lokr-conv2d", "adapter.safetensors");
    const noBase = runCli(["convert", lyco, "--out", join(tmp, "x")]);
    expect(noBase.code).toBe(2);
    expect(noBase.stderr).toMatch(/^error: convert --to peft needs --base/);
    const prefix = runCli([
      "convert",
      lyco,
      "--base",
      join(lycorisRoot, "lokr-conv2d", "base.safetensors"),
      "--prefix",
      "lora_unet",
      "--out",
      join(tmp, "y"),
    ]);
    expect(prefix.code).toBe(2);
    expect(prefix.stderr).toMatch(/^error: --prefix applies to --to lycoris only/);
    const missing = runCli(["convert", join(tmp, "nope"), "--out", join(tmp, "z.safetensors")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: .*no such file or directory/);
  });

  it("a Conv1d Tucker core without --base is refused as ambiguous (one line)", () => {
    const c = caseFiles("loha-conv1d-effective");
    const run = runCli(["convert", c.adapter, "--out", join(tmp, "c1d.safetensors")]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: .*hada_t[12] .*base weight shape is needed/);
  });
});
