import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Tensor } from "@lycoris-ts/kernels";
import { readSafetensorsSync } from "@lycoris-ts/safetensors";
import { afterAll, describe, expect, it } from "vitest";
import { LAYOUT_FIXTURES, layoutExcess } from "../../../test-support/layout-tolerance";
import { expectOneLineError, lines, runCli } from "./support/run-cli";

const tmp = mkdtempSync(join(tmpdir(), "lycoris-cli-layouts-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const file = (name: string, f: string): string => join(LAYOUT_FIXTURES, name, f);
const read = (path: string): ReadonlyMap<string, Tensor<Float32Array>> => readSafetensorsSync(path).tensors;

function checkComfy(name: string, out: string, strength: string): void {
  const expected = read(file(name, "expected.safetensors"));
  let checked = 0;
  for (const [key, t] of read(out)) {
    const want = expected.get(`merged/${strength}/${key}`);
    if (want === undefined) continue;
    expect(layoutExcess(t.data, want.data), key).toBeLessThanOrEqual(0);
    checked++;
  }
  expect(checked).toBeGreaterThan(0);
}

describe("lycoris merge onto SD / SDXL / Flux checkpoints (fixtures/lycoris-layouts)", () => {
  it("flux-diffusers-peft <file>:0.5 = ComfyUI at 0.5; its PEFT DoRA magnitude is a warning naming the tensor", () => {
    const out = join(tmp, "flux-half.safetensors");
    const run = runCli([
      "merge",
      "--base",
      file("flux-diffusers-peft", "base.safetensors"),
      "--adapter",
      `${file("flux-diffusers-peft", "adapter.safetensors")}:0.5`,
      "--out",
      out,
      "--no-progress",
    ]);
    expect(run.code, run.stderr).toBe(0);
    const warnings = lines(run.stderr);
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings.every((l) => l.startsWith("warning: "))).toBe(true);
    expect(run.stderr).toContain("lora_magnitude_vector");
    expect(run.stdout).toMatch(/strength 0\.5, \d+ adapter keys not applied/);
    checkComfy("flux-diffusers-peft", out, "0.5");
  });

  it("a path holding ':' that exists is taken whole (strength from --scale)", () => {
    const odd = join(tmp, "odd:name.safetensors");
    copyFileSync(file("sdxl-kohya-lokr", "adapter.safetensors"), odd);
    const out = join(tmp, "odd.safetensors");
    const run = runCli([
      "merge",
      "--base",
      file("sdxl-kohya-lokr", "base.safetensors"),
      "--adapter",
      odd,
      "--scale",
      "0.5",
      "--out",
      out,
      "-q",
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe("");
    checkComfy("sdxl-kohya-lokr", out, "0.5");
  });

  it("two --adapter a:s in one pass = merging them one after the other", () => {
    const base = file("sd15-kohya-locon-mixed", "base.safetensors");
    const a = file("sd15-kohya-dora", "adapter.safetensors");
    const b = file("sd15-kohya-locon-mixed", "adapter.safetensors");
    const once = join(tmp, "two.safetensors");
    const run = runCli([
      "merge",
      "--base",
      base,
      "--adapter",
      `${a}:0.8`,
      "--adapter",
      `${b}:0.5`,
      "--out",
      once,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^merged 2 adapters .* at 0\.8 .* at 0\.5 .* into \d+ tensors/);
    const first = join(tmp, "two-a.safetensors");
    const second = join(tmp, "two-b.safetensors");
    expect(runCli(["merge", "--base", base, "--adapter", `${a}:0.8`, "--out", first, "-q"]).code).toBe(0);
    expect(runCli(["merge", "--base", first, "--adapter", `${b}:0.5`, "--out", second, "-q"]).code).toBe(0);
    const got = read(once);
    for (const [key, t] of read(second)) expect(got.get(key)!.data, key).toEqual(t.data);
    checkComfy("sd15-kohya-locon-mixed", once, "0.5");
  });

  it("--strict: keys not placed are one error line naming the key and the closest names; nothing written", () => {
    const out = join(tmp, "strict.safetensors");
    const run = runCli([
      "merge",
      "--base",
      file("sd15-kohya-lokr", "base.safetensors"),
      "--adapter",
      file("sd15-kohya-lokr", "adapter.safetensors"),
      "--out",
      out,
      "--strict",
    ]);
    expect(lines(run.stderr).filter((l) => l.startsWith("warning: ")).length).toBeGreaterThan(0);
    expectOneLineError(
      {
        ...run,
        stderr: lines(run.stderr)
          .filter((l) => !l.startsWith("warning: "))
          .join("\n"),
      },
      /strict merge: .*names no module .*closest: .*\(and \d+ more\); nothing written/,
    );
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp).filter((f) => f.includes(".tmp"))).toEqual([]);
  });

  it("--adapter a:<not a number> for a missing path is a usage error", () => {
    const run = runCli([
      "merge",
      "--base",
      file("sd15-kohya-lokr", "base.safetensors"),
      "--adapter",
      "missing.safetensors:half",
      "--out",
      join(tmp, "x.safetensors"),
    ]);
    expectOneLineError(run, /--adapter missing\.safetensors:half: expected <path> or <path>:<strength>/, 2);
  });
});
