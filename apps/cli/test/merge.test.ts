import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type FloatDtype,
  readSafetensorsSync,
  SafetensorsReader,
  writeSafetensors,
} from "@lycoris-ts/safetensors";
import { afterAll, describe, expect, it } from "vitest";
import { fixtureCases } from "./support/fixtures";
import { runCli } from "./support/run-cli";
import { worstExcess } from "./support/worst-excess";

const cases = fixtureCases();
const tmp = mkdtempSync(join(tmpdir(), "lycoris-cli-merge-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// Tolerance of worstExcess: |actual − expected| ≤ 1e-5·(1 + |expected|), elementwise. PEFT computed the
// merged weights in float32 in its own operation order; ours differ only by float32 rounding of the
// Kronecker / Hadamard products and the sum, far below this bound.

describe("lycoris merge reproduces PEFT's merged weights for every fixture adapter", () => {
  for (const c of cases) {
    // merged expectations sum the active adapters, in active order
    const active = c.activeAdapters ?? ["default"];
    it(`${c.name}: merge ${active.join(" + ")} within 1e-5·(1+|PEFT|)`, () => {
      const out = join(tmp, `${c.name}.safetensors`);
      const run = runCli([
        "merge",
        "--base",
        c.base,
        "--adapter",
        c.adapterDir,
        "--out",
        out,
        ...active.flatMap((a) => ["--adapter-name", a]),
      ]);
      expect(run.stderr).not.toContain("error");
      expect(run.code).toBe(0);
      expect(run.stdout).toContain("merged adapter");

      const base = readSafetensorsSync(c.base);
      const merged = readSafetensorsSync(out);
      const expected = readSafetensorsSync(c.expectedTensors).tensors;
      // same tensors, same order, same shapes and dtypes as the base
      expect([...merged.tensors.keys()]).toEqual([...base.tensors.keys()]);
      expect(merged.dtypes).toEqual(base.dtypes);
      for (const [name, b] of base.tensors) {
        const m = merged.tensors.get(name)!;
        expect(m.shape).toEqual(b.shape);
        const want = expected.get(`merged/${name}`);
        const adapted =
          Object.hasOwn(c.expected.modules, name.replace(/\.weight$/, "")) && name.endsWith(".weight");
        const saved = c.expected.modules_to_save.some((s) => name.startsWith(`${s}.`));
        if (adapted || saved) {
          expect(want, `expected.safetensors has merged/${name}`).toBeDefined();
          expect(worstExcess(m.data, want!.data), name).toBeLessThanOrEqual(0);
        } else {
          // untouched tensors are copied bit for bit
          expect(Buffer.from(m.data.buffer).equals(Buffer.from(b.data.buffer)), name).toBe(true);
        }
      }
      // every merged weight PEFT recorded was checked above
      for (const key of expected.keys()) {
        if (key.startsWith("merged/")) expect(base.tensors.has(key.slice("merged/".length))).toBe(true);
      }
      expect(readdirSync(tmp).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    });
  }
});

describe("lycoris merge --scale", () => {
  const c = cases.find((x) => x.name === "lokr-conv2d-lowrank")!;
  const expected = readSafetensorsSync(c.expectedTensors).tensors;
  const base = readSafetensorsSync(c.base).tensors;

  it("--scale 0 writes the base weights unchanged", () => {
    const out = join(tmp, "scale0.safetensors");
    const run = runCli([
      "merge",
      "--base",
      c.base,
      "--adapter",
      c.adapterDir,
      "--out",
      out,
      "--scale",
      "0",
      "-q",
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("");
    const merged = readSafetensorsSync(out).tensors;
    for (const [name, b] of base) expect(merged.get(name)!.data).toEqual(b.data);
  });

  it("--scale 2.5 adds 2.5·ΔW (ΔW from PEFT's delta tensors), within 1e-5·(1+|W'|)", () => {
    const out = join(tmp, "scale25.safetensors");
    const run = runCli([
      "merge",
      "--base",
      c.base,
      "--adapter",
      c.adapterDir,
      "--out",
      out,
      "--scale",
      "2.5",
      "-q",
    ]);
    expect(run.code).toBe(0);
    const merged = readSafetensorsSync(out).tensors;
    for (const module of Object.keys(c.expected.modules)) {
      const w = base.get(`${module}.weight`)!.data;
      const d = expected.get(`delta/default/${module}`)!.data;
      const want = w.map((v, i) => v + 2.5 * d[i]!);
      expect(worstExcess(merged.get(`${module}.weight`)!.data, want), module).toBeLessThanOrEqual(0);
    }
  });
});

describe("lycoris merge progress", () => {
  it("shows a cli-progress bar on stderr (also when stderr is not a terminal) ending at 100%", () => {
    const c = cases.find((x) => x.name === "lokr-mixed-kinds")!;
    const out = join(tmp, "progress.safetensors");
    const run = runCli(["merge", "--base", c.base, "--adapter", c.adapterDir, "--out", out]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/merging \[[█░]+\] 100% \| (\d+)\/\1 tensors/);
    const quiet = runCli([
      "merge",
      "--base",
      c.base,
      "--adapter",
      c.adapterDir,
      "--out",
      out,
      "--no-progress",
    ]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe("");
  });
});

describe("lycoris merge keeps the base's dtypes", () => {
  it("F16 / BF16 / F64 base tensors: copied bit for bit when untouched, merged weights rounded to their dtype", async () => {
    const c = cases.find((x) => x.name === "lokr-mixed-kinds")!;
    const src = readSafetensorsSync(c.base).tensors;
    const names = [...src.keys()];
    const adapted = names.filter(
      (n) => n.endsWith(".weight") && Object.hasOwn(c.expected.modules, n.slice(0, -7)),
    );
    const untouched = names.filter((n) => !adapted.includes(n));
    expect(adapted.length).toBeGreaterThanOrEqual(3);
    expect(untouched.length).toBeGreaterThanOrEqual(2);
    const dtypes = new Map<string, FloatDtype>([
      [adapted[0]!, "F16"],
      [adapted[1]!, "BF16"],
      [adapted[2]!, "F64"],
      [untouched[0]!, "F16"],
      [untouched[1]!, "F64"],
    ]);
    const base = join(tmp, "mixed-dtypes.safetensors");
    await writeSafetensors(base, src, { dtypes, metadata: { note: "kept" } });
    const out = join(tmp, "mixed-dtypes-merged.safetensors");
    const run = runCli(["merge", "--base", base, "--adapter", c.adapterDir, "--out", out, "-q"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);

    const before = readSafetensorsSync(base);
    const after = readSafetensorsSync(out);
    expect(after.dtypes).toEqual(before.dtypes);
    expect(after.metadata).toEqual({ note: "kept" });
    const rIn = await SafetensorsReader.open(base);
    const rOut = await SafetensorsReader.open(out);
    try {
      for (const name of untouched) {
        expect(
          Buffer.from(await rOut.readBytes(name)).equals(Buffer.from(await rIn.readBytes(name))),
          name,
        ).toBe(true);
      }
    } finally {
      await rIn.close();
      await rOut.close();
    }
    const expected = readSafetensorsSync(c.expectedTensors).tensors;
    // W (as stored) + ΔW (PEFT's delta), rounded to the tensor's dtype: half a unit in the last
    // place relative (F16 2^-11, BF16 2^-8; F64 is computed in float32) plus float32 noise.
    const relTol: Record<string, number> = { F16: 2 ** -11, BF16: 2 ** -8, F64: 1e-6, F32: 1e-6 };
    for (const name of adapted) {
      const w = before.tensors.get(name)!.data;
      const d = expected.get(`delta/default/${name.slice(0, -7)}`)!.data;
      const got = after.tensors.get(name)!.data;
      const tol = relTol[before.dtypes.get(name)!]!;
      for (let i = 0; i < w.length; i++) {
        const e = w[i]! + d[i]!;
        expect(Math.abs(got[i]! - e), `${name}[${i}]`).toBeLessThanOrEqual(tol * Math.abs(e) + 1e-5);
      }
    }
  });
});
