import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readSafetensorsSync } from "@lycoris-ts/safetensors";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "./support/run-cli";
import { worstExcess } from "./support/worst-excess";

// `lycoris inspect`, `validate --base` and `merge` on PEFT LoRA adapters of fixtures/peft-lora (format in its
// FORMAT.md): every expected value (r, alpha, scaling, weight shapes, merged weights) is what PEFT recorded.

const FIXTURES = fileURLToPath(new URL("../../../fixtures/peft-lora/", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "lycoris-cli-lora-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface ExpectedLora {
  modules: Record<
    string,
    {
      kind: string;
      weight_shape: number[];
      adapters: Record<
        string,
        { r: number; alpha: number; scaling: number; params: Record<string, number[]> }
      >;
    }
  >;
}

interface InspectJson {
  adapters: Array<{
    peftType: string;
    modules: Array<{
      module: string;
      peftType: string;
      params: Array<{ name: string; shape: number[] }>;
      r: number | null;
      alpha: number | null;
      scaling: number | null;
      weightShape: number[] | null;
      problems: string[];
    }>;
  }>;
}

/** Linear (plain, rsLoRA, rank/alpha patterns) and conv cases with one active adapter and no merge error. */
const CASES = [
  "lora-linear-basic",
  "lora-linear-rslora",
  "lora-rank-alpha-pattern",
  "lora-conv1d",
  "lora-conv2d-k3",
];

const paths = (name: string) => ({
  adapter: join(FIXTURES, name, "adapter"),
  base: join(FIXTURES, name, "base.safetensors"),
  expected: JSON.parse(readFileSync(join(FIXTURES, name, "expected.json"), "utf8")) as ExpectedLora,
  expectedTensors: join(FIXTURES, name, "expected.safetensors"),
});

// Tolerance of worstExcess: |actual − expected| ≤ 1e-5·(1 + |expected|), elementwise. PEFT merged in float32 as
// `W + (B @ A) · scaling`; ours sums the same r ≤ 6 products per element in another order, so the two
// differ by a few float32 roundings (~1e-7 relative), far below this bound. The kohya files' alpha
// (scaling · rank) and the converted-back lora_alpha are exact for these small integers.

let merges = 0;

/** Merges `adapter` into case `name`'s base with the CLI and checks every weight against PEFT's merged one. */
function expectPeftMerge(name: string, adapter: string): void {
  const c = paths(name);
  merges++;
  const out = join(tmp, `${name}-merged-${merges}.safetensors`);
  const run = runCli(["merge", "--base", c.base, "--adapter", adapter, "--out", out]);
  expect(run.stderr).not.toContain("error");
  expect(run.code).toBe(0);
  const base = readSafetensorsSync(c.base);
  const merged = readSafetensorsSync(out);
  const expected = readSafetensorsSync(c.expectedTensors).tensors;
  expect([...merged.tensors.keys()]).toEqual([...base.tensors.keys()]);
  let adapted = 0;
  for (const [tensorName, b] of base.tensors) {
    const m = merged.tensors.get(tensorName)!;
    const module = tensorName.replace(/\.weight$/, "");
    if (tensorName.endsWith(".weight") && Object.hasOwn(c.expected.modules, module)) {
      adapted++;
      const want = expected.get(`merged/${tensorName}`);
      expect(want, `expected.safetensors has merged/${tensorName}`).toBeDefined();
      expect(worstExcess(m.data, want!.data), tensorName).toBeLessThanOrEqual(0);
      // the adapter changed the weight (the fixtures' factors are random, not PEFT's zero init)
      expect(worstExcess(b.data, want!.data), tensorName).toBeGreaterThan(0);
    } else {
      expect(Buffer.from(m.data.buffer).equals(Buffer.from(b.data.buffer)), tensorName).toBe(true);
    }
  }
  expect(adapted).toBe(Object.keys(c.expected.modules).length);
}

describe("lycoris on PEFT LoRA adapters", () => {
  for (const name of CASES) {
    const c = paths(name);

    it(`${name}: inspect reads every module's rank, alpha, scaling, weight shape and LoRA parameters`, () => {
      const run = runCli(["inspect", c.adapter, "--json"]);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      const [adapter] = (JSON.parse(run.stdout) as InspectJson).adapters;
      expect(adapter!.peftType).toBe("LORA");
      const got = Object.fromEntries(
        adapter!.modules.map((m) => [
          m.module,
          {
            peftType: m.peftType,
            r: m.r,
            alpha: m.alpha,
            scaling: m.scaling,
            weightShape: m.weightShape,
            params: Object.fromEntries(m.params.map((p) => [p.name, p.shape])),
            problems: m.problems,
          },
        ]),
      );
      const want = Object.fromEntries(
        Object.entries(c.expected.modules).map(([module, m]) => {
          const a = m.adapters.default!;
          // scaling: PEFT's float32 value; alpha / r and alpha / √r of these small integers are exact in float32
          return [
            module,
            {
              peftType: "LORA",
              r: a.r,
              alpha: a.alpha,
              scaling: a.scaling,
              weightShape: m.weight_shape,
              params: a.params,
              problems: [],
            },
          ];
        }),
      );
      expect(got).toEqual(want);
    });

    it(`${name}: validate --base accepts the adapter against its base model`, () => {
      const run = runCli(["validate", c.adapter, "--base", c.base]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain("result: valid (0 errors, 0 warnings)");
    });

    it(`${name}: merge reproduces PEFT's merged weights within 1e-5·(1+|PEFT|)`, () => {
      expectPeftMerge(name, c.adapter);
    });

    it(`${name}: convert to a kohya LoCon file and back; both merge to PEFT's weights within 1e-5·(1+|PEFT|)`, () => {
      const kohya = join(tmp, `${name}.kohya.safetensors`);
      const toKohya = runCli(["convert", c.adapter, "--out", kohya]);
      expect(toKohya.stderr).toBe("");
      expect(toKohya.code).toBe(0);
      expectPeftMerge(name, kohya);
      const back = join(tmp, `${name}-back`);
      const toPeft = runCli(["convert", kohya, "--base", c.base, "--out", back]);
      expect(toPeft.stderr).toBe("");
      expect(toPeft.code).toBe(0);
      expectPeftMerge(name, back);
    });
  }
});

// Embedding (`lora_embedding_A` / `_B`, ΔW = (B·A)ᵀ) and GPT-2 `Conv1D` (weight [nx, nf], fan_in_fan_out: ΔW =
// (B·A)ᵀ) targets read from files: the layer comes from the LoRA variant's candidates for the base weight's shape
// (the saved fan_in_fan_out picks Conv1D for a square weight, c_proj [12, 12]). Same tolerance as above.
describe("lycoris on PEFT LoRA adapters with embedding and GPT-2 Conv1D targets", () => {
  for (const name of [
    "lora-embedding",
    "lora-gpt2-conv1d-fan-in-fan-out",
    "lora-gpt2-conv1d-auto-fan-in-fan-out",
    "lora-mixed-kinds",
  ]) {
    const c = paths(name);

    it(`${name}: validate --base accepts the adapter against its base model`, () => {
      const run = runCli(["validate", c.adapter, "--base", c.base]);
      expect(run.code, run.stdout).toBe(0);
      expect(run.stdout).toContain("result: valid (0 errors, 0 warnings)");
    });

    it(`${name}: merge reproduces PEFT's merged weights within 1e-5·(1+|PEFT|)`, () => {
      expectPeftMerge(name, c.adapter);
    });
  }
});

// kohya's LoCon form (`lora_down.weight` / `lora_up.weight` / `.alpha`) in fixtures/lycoris-layouts (format in
// its FORMAT.md): rank, alpha and scale as ComfyUI's loader read them, the weight shape from the base
// checkpoint's header. Integers and alpha / rank of small integers: exact comparisons.
const LAYOUTS = fileURLToPath(new URL("../../../fixtures/lycoris-layouts/", import.meta.url));

interface LayoutTarget {
  checkpoint: { tensor: string };
  algo: string;
  rank: number | null;
  alpha: number | null;
  scale: number;
  mid?: boolean;
}

describe("lycoris inspect on kohya LoCon (LoRA) modules", () => {
  for (const name of ["sd15-kohya-locon-mixed", "sdxl-kohya-lora-full"]) {
    it(`${name}: every lora module reads as LORA with ComfyUI's rank, alpha, scale and the base weight's shape`, () => {
      const dir = join(LAYOUTS, name);
      const expected = JSON.parse(readFileSync(join(dir, "expected.json"), "utf8")) as {
        modules: Record<string, { targets: LayoutTarget[] }>;
      };
      const header = readSafetensorsSync(join(dir, "base.safetensors")).tensors;
      const run = runCli(["inspect", join(dir, "adapter.safetensors"), "--json"]);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      const modules = new Map(
        (JSON.parse(run.stdout) as InspectJson).adapters.flatMap((a) => a.modules).map((m) => [m.module, m]),
      );
      let checked = 0;
      for (const [module, e] of Object.entries(expected.modules)) {
        const t = e.targets[0]!;
        if (t.algo !== "lora") continue;
        const m = modules.get(module);
        expect(m, module).toBeDefined();
        expect([m!.peftType, m!.r, m!.alpha, m!.scaling], module).toEqual(["LORA", t.rank, t.alpha, t.scale]);
        if (t.mid === true) {
          // kohya's Tucker LoCon: the core is named as not read (not silently dropped)
          expect(m!.problems.join("\n"), module).toMatch(/not read: lora_mid\.weight \[/);
        } else {
          expect(m!.weightShape, module).toEqual(header.get(t.checkpoint.tensor)!.shape);
          expect(m!.problems, module).toEqual([]);
        }
        checked++;
      }
      expect(checked).toBeGreaterThan(0);
    });
  }
});
