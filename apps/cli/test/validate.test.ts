import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readSafetensorsSync, writeSafetensors } from "@lycoris-ts/safetensors";
import { afterAll, describe, expect, it } from "vitest";
import { fixtureCases } from "./support/fixtures";
import { lines, runCli } from "./support/run-cli";

const cases = fixtureCases();
const tmp = mkdtempSync(join(tmpdir(), "lycoris-cli-validate-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface ValidateJson {
  ok: boolean;
  errors: number;
  adapters: Array<{ name: string; checks: Array<{ level: string; subject: string; message: string }> }>;
}

describe("lycoris validate accepts every fixture adapter", () => {
  for (const c of cases) {
    it(`${c.name}: valid alone and against its base model (all sub-adapters)`, () => {
      const alone = runCli(["validate", c.adapterDir]);
      expect(alone.stderr).toBe("");
      expect(alone.code).toBe(0);
      expect(alone.stdout).toContain("result: valid");

      const withBase = runCli(["validate", c.adapterDir, "--base", c.base, "--json"]);
      expect(withBase.code).toBe(0);
      const report = JSON.parse(withBase.stdout) as ValidateJson;
      expect(report.ok).toBe(true);
      expect(report.adapters.map((a) => a.name).sort()).toEqual([...c.expected.adapters].sort());
      for (const a of report.adapters) {
        expect(a.checks.filter((x) => x.level === "error")).toEqual([]);
        expect(a.checks.some((x) => x.subject === "base" && x.level === "ok")).toBe(true);
      }
    });
  }
});

describe("lycoris validate rejects adapters that do not fit", () => {
  it("a base model of another case: names the module and both shapes, exit 1", () => {
    const c = cases.find((x) => x.name === "lokr-linear-full")!;
    const other = cases.find((x) => x.name === "lokr-linear-rect-nobias")!;
    const run = runCli(["validate", c.adapterDir, "--base", other.base]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("result: INVALID");
    expect(run.stdout).toMatch(/✗ .*(shape mismatch|not in the base model)/);
    const err = lines(run.stderr);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^error: validation failed: \d+ problems?/);
  });

  it("a shape mismatch message names the module, the base weight shape and the factor shapes", () => {
    // both models have model.layers.0.self_attn.{q,v}_proj, with other sizes
    const c = cases.find((x) => x.name === "lokr-linear-full")!;
    const other = cases.find((x) => x.name === "lokr-linear-lowrank-w2")!;
    const run = runCli(["validate", c.adapterDir, "--base", other.base, "--json"]);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as ValidateJson;
    const errors = report.adapters.flatMap((a) => a.checks.filter((x) => x.level === "error"));
    expect(errors.map((e) => e.subject).sort()).toEqual(Object.keys(c.expected.modules).sort());
    for (const e of errors) {
      expect(e.message).toMatch(/^shape mismatch: base weight \[\d+, \d+\]/);
      expect(e.message).toMatch(/lokr_w1: expected \[[\d, ]+\], found \[[\d, ]+\]/);
    }
  });

  it("a factor with a wrong shape or an unknown parameter name: exit 1 with the module named", async () => {
    const c = cases.find((x) => x.name === "lokr-linear-decompose-both")!;
    const dir = join(tmp, "tampered");
    cpSync(c.adapterDir, dir, { recursive: true });
    const weights = readSafetensorsSync(join(dir, "adapter_model.safetensors")).tensors;
    const [firstKey, first] = [...weights][0]!;
    const tampered = new Map(weights);
    // drop one row of the first factor, and add a parameter LoKr never creates
    const rows = first.shape[0]! - 1;
    const cols = first.data.length / first.shape[0]!;
    tampered.set(firstKey, {
      data: first.data.slice(0, rows * cols),
      shape: [rows, ...first.shape.slice(1)],
    });
    const module = firstKey.slice("base_model.model.".length, firstKey.lastIndexOf("."));
    tampered.set(`base_model.model.${module}.lokr_w3`, { data: new Float32Array([1]), shape: [1] });
    await writeSafetensors(join(dir, "adapter_model.safetensors"), tampered);
    const run = runCli(["validate", dir, "--base", c.base]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`✗ ${module}`);
    expect(run.stdout).toContain("lokr_w3");
    expect(lines(run.stderr)).toHaveLength(1);
  });
});
