import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Tensor } from "@lycoris-ts/kernels";
import { readSafetensorsSync, serializeSafetensors } from "@lycoris-ts/safetensors";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "./support/run-cli";
import { worstExcess } from "./support/worst-excess";

const root = fileURLToPath(new URL("../../../fixtures/lycoris/", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "lycoris-cli-lycoris-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Entry {
  readonly name: string;
  readonly peft_conversion: string | null;
}
const entries = (JSON.parse(readFileSync(join(root, "index.json"), "utf8")) as { cases: Entry[] }).cases;
const files = (name: string) => ({
  base: join(root, name, "base.safetensors"),
  adapter: join(root, name, "adapter.safetensors"),
  expected: join(root, name, "expected.safetensors"),
  targeted: (
    JSON.parse(readFileSync(join(root, name, "expected.json"), "utf8")) as { targeted_modules: string[] }
  ).targeted_modules,
});

// Tolerance of worstExcess: |actual − expected| ≤ 1e-5·(1 + |expected|) elementwise: the expected
// merged weights are float32 torch results (ComfyUI's rules); ours are float32 (DoRA: float64
// norms) in another order, a few ulps apart — far below the bound, which a wrong rule (scale,
// layout, DoRA norm) exceeds by orders of magnitude.

/** Checks a merged file: adapted weights against `want(module)`, every other tensor copied bit for bit. */
function checkMerged(
  out: string,
  base: string,
  targeted: readonly string[],
  want: (m: string) => Float32Array,
): void {
  const b = readSafetensorsSync(base);
  const m = readSafetensorsSync(out);
  expect([...m.tensors.keys()]).toEqual([...b.tensors.keys()]);
  expect(m.dtypes).toEqual(b.dtypes);
  for (const [name, t] of b.tensors) {
    const got = m.tensors.get(name)!;
    expect(got.shape).toEqual(t.shape);
    const module = name.endsWith(".weight") ? name.slice(0, -".weight".length) : null;
    if (module !== null && targeted.includes(module)) {
      expect(worstExcess(got.data, want(module)), name).toBeLessThanOrEqual(0);
    } else {
      expect(Buffer.from(got.data.buffer).equals(Buffer.from(t.data.buffer)), name).toBe(true);
    }
  }
}

describe("lycoris merge / validate / convert on every kohya/LyCORIS fixture", () => {
  for (const entry of entries) {
    const f = files(entry.name);
    const expected = readSafetensorsSync(f.expected).tensors;

    it(`${entry.name}: merge = expected merged/<m> (ComfyUI rules) within 1e-5·(1+|e|)`, () => {
      const out = join(tmp, `${entry.name}.safetensors`);
      const run = runCli(["merge", "--base", f.base, "--adapter", f.adapter, "--out", out, "--no-progress"]);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(run.stdout).toContain("merged kohya/LyCORIS adapter");
      checkMerged(out, f.base, f.targeted, (m) => expected.get(`merged/${m}.weight`)!.data);
      expect(readdirSync(tmp).filter((x) => x.endsWith(".tmp"))).toEqual([]);
    });

    it(`${entry.name}: merge --scale 0.5 = W0 + delta/0.5`, () => {
      const out = join(tmp, `${entry.name}-half.safetensors`);
      const run = runCli([
        "merge",
        "--base",
        f.base,
        "--adapter",
        f.adapter,
        "--out",
        out,
        "--scale",
        "0.5",
        "-q",
      ]);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      const base = readSafetensorsSync(f.base).tensors;
      checkMerged(out, f.base, f.targeted, (m) => {
        const w0 = base.get(`${m}.weight`)!.data;
        const d = expected.get(`delta/0.5/${m}`)!.data;
        return w0.map((v, i) => v + d[i]!);
      });
    });

    it(`${entry.name}: validate --base passes`, () => {
      const run = runCli(["validate", f.adapter, "--base", f.base]);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toContain("result: valid");
    });

    const convertible = entry.peft_conversion === "converted";
    it(`${entry.name}: convert ${convertible ? "writes a PEFT adapter whose PEFT merge gives the same weights" : "fails with the reason"}`, () => {
      const dir = join(tmp, `${entry.name}-peft`);
      const run = runCli(["convert", f.adapter, "--base", f.base, "--out", dir]);
      if (!convertible) {
        expect(run.code).toBe(1);
        expect(run.stderr).toMatch(/^error: .*cannot convert to PEFT: .+/);
        expect(run.stderr.trim().split("\n")).toHaveLength(1);
        return;
      }
      expect(run.code, run.stderr).toBe(0);
      const out = join(tmp, `${entry.name}-via-peft.safetensors`);
      const merge = runCli(["merge", "--base", f.base, "--adapter", dir, "--out", out, "-q"]);
      expect(merge.code, merge.stderr).toBe(0);
      checkMerged(out, f.base, f.targeted, (m) => expected.get(`merged/${m}.weight`)!.data);
    });
  }
});

describe("kohya/LyCORIS prefixes and errors", () => {
  const f = files("lokr-conv2d");
  const expected = readSafetensorsSync(f.expected).tensors;
  // the same UNet saved without the "unet." root (a UNet-only checkpoint)
  const bare = join(tmp, "unet-only.safetensors");
  const base = readSafetensorsSync(f.base).tensors;
  const stripped = new Map<string, Tensor<Float32Array>>(
    [...base].map(([k, t]) => [k.replace(/^unet\./, ""), t] as const),
  );
  writeFileSync(bare, serializeSafetensors(stripped));
  const unprefixed = f.targeted.map((m) => m.replace(/^unet\./, ""));

  for (const [label, extra] of [
    ["found from the keys", [] as string[]],
    ["--prefix-map lora_unet=", ["--prefix-map", "lora_unet="]],
  ] as const) {
    it(`a base file without the sub-model root: ${label}`, () => {
      const out = join(tmp, `bare-${extra.length}.safetensors`);
      const run = runCli(["merge", "--base", bare, "--adapter", f.adapter, "--out", out, "-q", ...extra]);
      expect(run.code, run.stderr).toBe(0);
      checkMerged(out, bare, unprefixed, (m) => expected.get(`merged/unet.${m}.weight`)!.data);
    });
  }

  it("a base model the adapter does not fit: one-line error, nothing written", () => {
    const other = files("lokr-sd1-default");
    const out = join(tmp, "misfit.safetensors");
    const run = runCli(["merge", "--base", other.base, "--adapter", f.adapter, "--out", out]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(
      /^error: (key '.*' names no module|module '.*': base weight \[.*\] does not fit)/,
    );
    expect(readdirSync(tmp).filter((x) => x.startsWith("misfit"))).toEqual([]);
  });

  it("validate without --base is a usage error", () => {
    const run = runCli(["validate", f.adapter]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--base");
  });

  it("a malformed --prefix-map is a usage error", () => {
    const run = runCli([
      "merge",
      "--base",
      f.base,
      "--adapter",
      f.adapter,
      "--out",
      join(tmp, "x.safetensors"),
      "--prefix-map",
      "nonsense",
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--prefix-map");
  });
});
