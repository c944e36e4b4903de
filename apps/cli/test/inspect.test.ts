import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { peftKeyToKohya } from "@lycoris-ts/lycoris-format";
import { splitPeftKey } from "@lycoris-ts/runtime";
import { readSafetensorsSync, writeSafetensors } from "@lycoris-ts/safetensors";
import { afterAll, describe, expect, it } from "vitest";
import { adapterDirOf, fixtureCases } from "./support/fixtures";
import { runCli } from "./support/run-cli";

interface InspectJson {
  format: string;
  adapters: Array<{
    name: string;
    peftType: string;
    modules: Array<{
      module: string;
      peftType: string;
      structure: Record<string, string | boolean>;
      params: Array<{ name: string; shape: number[] }>;
      numParams: number;
      r: number | null;
      alpha: number | null;
      scaling: number | null;
      weightShape: number[] | null;
      deltaMatrixShape: [number, number] | null;
      problems: string[];
    }>;
    replacedTensors: string[];
  }>;
  totals: { adapters: number; modules: number; parameters: number };
}

const cases = fixtureCases();
const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

describe("lycoris inspect on every fixture adapter directory", () => {
  it("finds the fixture cases", () => {
    expect(cases.length).toBeGreaterThan(30);
  });

  for (const c of cases) {
    it(`${c.name}: text report, exit 0`, () => {
      const run = runCli(["inspect", c.adapterDir]);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(run.stdout).toContain("PEFT adapter directory");
      for (const module of Object.keys(c.expected.modules)) expect(run.stdout).toContain(module);
    });

    it(`${c.name}: --json matches PEFT's modules, shapes, r, alpha, scaling and structure exactly`, () => {
      const run = runCli(["inspect", c.adapterDir, "--json"]);
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout) as InspectJson;
      expect(report.format).toBe("peft-directory");
      // sub-adapters are found as <dir>/<name>; "default" first, then sorted
      expect(report.adapters.map((a) => a.name)).toEqual([
        "default",
        ...c.expected.adapters.filter((a) => a !== "default").sort(),
      ]);
      for (const adapter of report.adapters) {
        const expectedModules = Object.entries(c.expected.modules).filter(
          ([, m]) => adapter.name in m.adapters,
        );
        expect(adapter.modules.map((m) => m.module).sort()).toEqual(expectedModules.map(([n]) => n).sort());
        for (const [name, m] of expectedModules) {
          const exp = m.adapters[adapter.name]!;
          const got = adapter.modules.find((x) => x.module === name)!;
          expect(got.peftType).toBe(exp.peft_type);
          expect(got.problems).toEqual([]);
          expect(Object.fromEntries(got.params.map((p) => [p.name, p.shape]))).toEqual(exp.params);
          expect(got.numParams).toBe(exp.num_params);
          expect(got.r).toBe(exp.r);
          expect(got.alpha).toBe(exp.alpha);
          // scaling is alpha / r in both; only float rounding of the division could differ
          expect(got.scaling).toBeCloseTo(exp.scaling, 12);
          if (exp.peft_type === "LOKR") expect(got.structure).toEqual(exp.structure);
          else expect(got.structure).toEqual({ effective_conv: exp.structure.effective_conv });
          // the factors alone determine the base weight shape, or at least ΔW as a matrix
          if (got.weightShape !== null) expect(got.weightShape).toEqual(m.weight_shape);
          expect(got.deltaMatrixShape).toEqual([m.weight_shape[0], prod(m.weight_shape.slice(1))]);
        }
      }
      const sumParams = report.adapters.reduce(
        (a, x) => a + x.modules.reduce((b, m) => b + m.numParams, 0),
        0,
      );
      const expectedSum = Object.values(c.expected.modules).reduce(
        (a, m) => a + Object.values(m.adapters).reduce((b, x) => b + x.num_params, 0),
        0,
      );
      expect(sumParams).toBe(expectedSum);
    });
  }

  it("each sub-adapter directory <dir>/<name> is an adapter directory of its own", () => {
    for (const c of cases.filter((x) => x.expected.adapters.length > 1)) {
      for (const name of c.expected.adapters.filter((a) => a !== "default")) {
        const run = runCli(["inspect", adapterDirOf(c, name), "--json"]);
        expect(run.code).toBe(0);
        const report = JSON.parse(run.stdout) as InspectJson;
        expect(report.adapters).toHaveLength(1);
        const modules = Object.entries(c.expected.modules).filter(([, m]) => name in m.adapters);
        expect(report.adapters[0]!.modules.map((m) => m.module).sort()).toEqual(
          modules.map(([n]) => n).sort(),
        );
        for (const m of report.adapters[0]!.modules) {
          expect(m.r).toBe(c.expected.modules[m.module]!.adapters[name]!.r);
        }
        const v = runCli(["validate", adapterDirOf(c, name), "--base", c.base]);
        expect(v.code).toBe(0);
      }
    }
  });

  it("--adapter-name restricts the report to one sub-adapter", () => {
    const c = cases.find((x) => x.expected.adapters.length > 1)!;
    const other = c.expected.adapters[1]!;
    const run = runCli(["inspect", c.adapterDir, "--adapter-name", other, "--json"]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as InspectJson;
    expect(report.adapters.map((a) => a.name)).toEqual([other]);
  });
});

describe("lycoris inspect on bare safetensors files", () => {
  const tmp = mkdtempSync(join(tmpdir(), "lycoris-cli-inspect-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("infers the type of a PEFT adapter_model.safetensors without its config", () => {
    for (const name of ["lokr-linear-decompose-both", "loha-conv2d-effective"]) {
      const c = cases.find((x) => x.name === name)!;
      const run = runCli([
        "inspect",
        join(adapterDirOf(c, "default"), "adapter_model.safetensors"),
        "--json",
      ]);
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout) as InspectJson;
      expect(report.format).toBe("peft-safetensors");
      const type = Object.values(c.expected.modules)[0]!.adapters.default!.peft_type;
      expect(report.adapters[0]!.peftType).toBe(type);
      expect(report.adapters[0]!.modules.map((m) => m.module).sort()).toEqual(
        Object.keys(c.expected.modules).sort(),
      );
    }
  });

  it("reads a kohya/LyCORIS file: lycoris_ keys, type from parameter names, alpha from .alpha tensors", async () => {
    const c = cases.find((x) => x.name === "lokr-linear-decompose-both")!;
    const weights = readSafetensorsSync(join(c.adapterDir, "adapter_model.safetensors")).tensors;
    const out = new Map<string, { data: Float32Array; shape: number[] }>();
    const modules = new Set<string>();
    for (const [key, t] of weights) {
      const { module, param } = splitPeftKey(key);
      out.set(peftKeyToKohya(module, param), { data: t.data, shape: [...t.shape] });
      modules.add(module);
    }
    for (const m of modules) out.set(peftKeyToKohya(m, "alpha"), { data: new Float32Array([6]), shape: [] });
    const file = join(tmp, "kohya.safetensors");
    await writeSafetensors(file, out);
    const run = runCli(["inspect", file, "--json"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as InspectJson;
    expect(report.format).toBe("kohya-safetensors");
    expect(report.adapters[0]!.peftType).toBe("LOKR");
    for (const m of report.adapters[0]!.modules) {
      expect(m.module.startsWith("lycoris_")).toBe(true);
      expect(m.alpha).toBe(6);
      // r is the inner dimension of the low-rank factors (this case decomposes both factors)
      const exp = Object.values(c.expected.modules)[0]!.adapters.default!;
      expect(m.r).toBe(exp.r);
      expect(m.scaling).toBeCloseTo(6 / exp.r, 12);
    }
  });
});
