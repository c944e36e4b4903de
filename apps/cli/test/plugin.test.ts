import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRng } from "@lycoris-ts/kernels";
import {
  Conv2d,
  Flatten,
  initModuleParameters,
  Linear,
  ReLU,
  Sequential,
  savePeftAdapter,
} from "@lycoris-ts/runtime";
import { readSafetensorsSync, writeSafetensors } from "@lycoris-ts/safetensors";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getLoConModel, LoConConfig } from "../../../examples/custom-variant/src/locon";
import { PLUGIN_BUILD_DIR } from "./support/build-cli";
import { lines, runCli } from "./support/run-cli";

/** The LoCon example compiled to plain ESM by the global setup (what a user passes to --plugin). */
const PLUGIN = fileURLToPath(new URL(`../${PLUGIN_BUILD_DIR}/locon.js`, import.meta.url));

const tmp = mkdtempSync(join(tmpdir(), "lycoris-cli-plugin-"));
const adapterDir = join(tmp, "locon-adapter");
const base = join(tmp, "base.safetensors");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

beforeAll(async () => {
  const model = new Sequential(
    new Conv2d(2, 4, 3, { padding: [1, 1] }),
    new ReLU(),
    new Flatten(),
    new Linear(4 * 5 * 5, 3),
  );
  initModuleParameters(model, createRng(7));
  await writeSafetensors(base, model.stateDict());
  const config = new LoConConfig({ r: 2, alpha: 3, targetModules: ["0", "3"], initWeights: false });
  await savePeftAdapter(getLoConModel(model, config), adapterDir);
});

interface InspectJson {
  adapters: Array<{
    peftType: string;
    modules: Array<{
      module: string;
      peftType: string;
      summary: string;
      r: number;
      alpha: number;
      scaling: number;
      deltaMatrixShape: [number, number];
      problems: string[];
    }>;
  }>;
}

describe("lycoris --plugin: the LoCon example (examples/custom-variant) as an extra variant", () => {
  it("without the plugin, LOCON is an unknown peft_type", () => {
    const run = runCli(["inspect", adapterDir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^error: .*unknown peft_type 'LOCON': registered adapter types are LOKR, LOHA, LORA\n$/,
    );
  });

  it("inspect: structure, r, alpha, scaling and ΔW shape from the variant's own hooks", () => {
    const run = runCli(["--plugin", PLUGIN, "inspect", adapterDir, "--json"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const [adapter] = (JSON.parse(run.stdout) as InspectJson).adapters;
    expect(adapter!.peftType).toBe("LOCON");
    const byName = new Map(adapter!.modules.map((m) => [m.module, m]));
    expect([...byName.keys()].sort()).toEqual(["0", "3"]);
    // ΔW as a matrix: conv [4, 2·3·3], linear [3, 100]
    expect(byName.get("0")!.deltaMatrixShape).toEqual([4, 18]);
    expect(byName.get("3")!.deltaMatrixShape).toEqual([3, 100]);
    for (const m of byName.values()) {
      expect([m.peftType, m.summary, m.r, m.alpha, m.scaling, m.problems]).toEqual([
        "LOCON",
        "low-rank B·A",
        2,
        3,
        1.5,
        [],
      ]);
    }
    const text = runCli(["inspect", adapterDir, "--plugin", PLUGIN]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("low-rank B·A");
  });

  it("validate against the base model", () => {
    const run = runCli(["--plugin", PLUGIN, "validate", adapterDir, "--base", base]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("result: valid");
  });

  it("merge: W' = W + (alpha / r) · B·A for both layers, every other tensor copied", () => {
    const out = join(tmp, "merged.safetensors");
    const run = runCli([
      "--plugin",
      PLUGIN,
      "merge",
      "--base",
      base,
      "--adapter",
      adapterDir,
      "--out",
      out,
      "-q",
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const before = readSafetensorsSync(base).tensors;
    const after = readSafetensorsSync(out).tensors;
    const factors = readSafetensorsSync(join(adapterDir, "adapter_model.safetensors")).tensors;
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const module of ["0", "3"]) {
      const a = factors.get(`base_model.model.${module}.locon_a`)!;
      const b = factors.get(`base_model.model.${module}.locon_b`)!;
      const w0 = before.get(`${module}.weight`)!;
      const w = after.get(`${module}.weight`)!;
      const [r, cols] = a.shape as [number, number];
      let worst = 0;
      for (let o = 0; o < b.shape[0]!; o++) {
        for (let j = 0; j < cols; j++) {
          let d = 0; // float64 reference of (B·A)[o, j]
          for (let k = 0; k < r; k++) d += b.data[o * r + k]! * a.data[k * cols + j]!;
          const e = w0.data[o * cols + j]! + 1.5 * d;
          worst = Math.max(worst, Math.abs(w.data[o * cols + j]! - e) / (1 + Math.abs(e)));
        }
      }
      // float32 merge of a float64 formula with r = 2 terms: 1e-5 relative is PEFT's own tolerance
      expect(worst, module).toBeLessThan(1e-5);
      expect(after.get(`${module}.bias`)!.data).toEqual(before.get(`${module}.bias`)!.data);
    }
  });

  it("a module that exports no variant, or that cannot be loaded: one error line", () => {
    const empty = join(tmp, "empty-plugin.mjs");
    writeFileSync(empty, "export const answer = 42;\n");
    const none = runCli(["--plugin", empty, "inspect", adapterDir]);
    expect(none.code).toBe(1);
    expect(lines(none.stderr)).toEqual([
      expect.stringMatching(/^error: --plugin .*exports no adapter variant/),
    ]);
    const missing = runCli(["--plugin", join(tmp, "nope.mjs"), "inspect", adapterDir]);
    expect(missing.code).toBe(1);
    expect(lines(missing.stderr)).toEqual([
      expect.stringMatching(/^error: --plugin .*cannot load the module/),
    ]);
  });
});
