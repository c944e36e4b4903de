import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRng, type Tensor } from "@lycoris-ts/kernels";
import { LoKrConfig } from "@lycoris-ts/lokr";
import { adapterConfigToJson } from "@lycoris-ts/lycoris-config";
import { AdapterError, writePeftAdapterDir } from "@lycoris-ts/runtime";
import { readSafetensorsSync, writeSafetensors } from "@lycoris-ts/safetensors";
import { afterAll, describe, expect, it } from "vitest";
import {
  AdapterFilesError,
  extractAdapter,
  mergeAdapters,
  mergeKohyaFile,
  type ProgressEvent,
} from "../src/index";
import { registry, worstExcess } from "./support/fixtures";

const tmp = mkdtempSync(join(tmpdir(), "adapter-files-extract-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const reg = registry();
const rng = createRng(12);

function randn(shape: readonly number[], std: number): Tensor<Float32Array> {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
  return { data, shape: [...shape] };
}

/** A small checkpoint: a linear layer with a bias, a conv2d, a conv1d, a norm and an unchanged linear. */
function baseModel(): Map<string, Tensor<Float32Array>> {
  return new Map([
    ["lin.weight", randn([64, 48], 0.5)],
    ["lin.bias", randn([64], 0.5)],
    ["conv2.weight", randn([16, 8, 3, 3], 0.5)],
    ["conv1.weight", randn([12, 6, 3], 0.5)],
    ["norm.weight", randn([48], 0.5)],
    ["head.weight", randn([10, 64], 0.5)],
  ]);
}

const basePath = join(tmp, "base.safetensors");
const lokrTunedPath = join(tmp, "lokr-tuned.safetensors");
const loraTunedPath = join(tmp, "lora-tuned.safetensors");
const base = baseModel();

/**
 * A known LoKr adapter (r = 2: `lin` gets a rank-2 `w2` product smaller than its 8×8 `w2`, the convs full `w2`,
 * conv1 in PEFT's permuted Conv1d layout), merged into the base by `mergeAdapters` (checked against PEFT's
 * merges in merge-convert.test.ts) to give the fine-tuned checkpoint; the bias and the norm change too.
 */
async function makeLokrTuned(): Promise<void> {
  await writeSafetensors(basePath, base);
  const config = new LoKrConfig({
    r: 2,
    alpha: 3,
    targetModules: ["lin", "conv2", "conv1"],
    initWeights: false,
  });
  const weights = new Map<string, Tensor<Float32Array>>([
    ["base_model.model.lin.lokr_w1", randn([8, 6], 0.6)],
    ["base_model.model.lin.lokr_w2_a", randn([8, 2], 0.6)],
    ["base_model.model.lin.lokr_w2_b", randn([2, 8], 0.6)],
    ["base_model.model.conv2.lokr_w1", randn([4, 2], 0.6)],
    ["base_model.model.conv2.lokr_w2", randn([4, 4, 3, 3], 0.6)],
    ["base_model.model.conv1.lokr_w1", randn([3, 2], 0.6)],
    ["base_model.model.conv1.lokr_w2", randn([4, 3, 3], 0.6)],
  ]);
  const dir = join(tmp, "known-lokr");
  await writePeftAdapterDir(dir, [{ name: "default", configJson: adapterConfigToJson(config), weights }]);
  const merged = join(tmp, "lokr-merged.safetensors");
  await mergeAdapters({ base: basePath, adapter: dir, out: merged, registry: reg });
  const tensors = readSafetensorsSync(merged).tensors;
  tensors.get("lin.bias")!.data[3]! += 0.25;
  tensors.get("norm.weight")!.data[0]! += 0.5;
  await writeSafetensors(lokrTunedPath, tensors);
}

/** `tuned = base + B·A` with a rank-3 ΔW on `lin` and on `conv2` (flattened), computed in float64 here. */
async function makeLoraTuned(): Promise<void> {
  const tuned = new Map(base);
  for (const [name, out, cols] of [
    ["lin.weight", 64, 48],
    ["conv2.weight", 16, 72],
  ] as const) {
    const b = randn([out, 3], 0.5);
    const a = randn([3, cols], 0.5);
    const w = tuned.get(name)!;
    const data = new Float32Array(w.data.length);
    for (let i = 0; i < out; i++)
      for (let j = 0; j < cols; j++) {
        let s = 0;
        for (let t = 0; t < 3; t++) s += b.data[i * 3 + t]! * a.data[t * cols + j]!;
        data[i * cols + j] = w.data[i * cols + j]! + s;
      }
    tuned.set(name, { data, shape: w.shape });
  }
  await writeSafetensors(loraTunedPath, tuned);
}

/** Merges an extracted adapter into the base and checks it against `tuned`: |merged − tuned| ≤ 1e-5·(1 + |tuned|). */
async function checkMergeGivesTuned(
  adapter: string,
  tunedPath: string,
  skip: readonly string[],
): Promise<void> {
  const merged = join(tmp, `merged-${readdirSync(tmp).length}.safetensors`);
  if (adapter.endsWith(".safetensors"))
    await mergeKohyaFile({ base: basePath, adapter, out: merged, registry: reg });
  else await mergeAdapters({ base: basePath, adapter, out: merged, registry: reg });
  const got = readSafetensorsSync(merged).tensors;
  const want = readSafetensorsSync(tunedPath).tensors;
  for (const [name, t] of want) {
    if (skip.includes(name)) continue;
    // float32 merges of float32 factors: a few ulps of |w| apart; a wrong factor or layout is off by O(|ΔW|).
    expect(worstExcess(got.get(name)!.data, t.data), name).toBeLessThanOrEqual(0);
  }
}

describe("extractAdapter", () => {
  it("LoKr: a checkpoint merged from a known LoKr comes back (relative error < 1e-5), and its merge gives tuned", async () => {
    await makeLokrTuned();
    await makeLoraTuned();
    const out = join(tmp, "lokr-extracted");
    const events: ProgressEvent[] = [];
    const s = await extractAdapter({
      base: basePath,
      tuned: lokrTunedPath,
      algo: "lokr",
      rank: { mode: "fixed", rank: 2 },
      out,
      registry: reg,
      onProgress: (e) => events.push(e),
    });
    expect(Object.fromEntries(s.layers.map((l) => [l.module, l.structure]))).toEqual({
      lin: "w1 [8, 6] ⊗ w2 [8, 2]·[2, 8]",
      conv2: "w1 [4, 2] ⊗ w2 [4, 4, 3, 3]",
      conv1: "w1 [3, 2] ⊗ w2 [4, 3, 3]",
    });
    // float32 checkpoints: ΔW = f32(tuned) − f32(base) carries ~1e-7·|w| rounding, far below 1e-5·|ΔW|.
    for (const l of s.layers) expect(l.relativeError, l.module).toBeLessThan(1e-5);
    expect(s.otherChanged.map((c) => c.name)).toEqual(["lin.bias", "norm.weight"]);
    expect(s.unchanged).toBe(1);
    expect(events.map((e) => e.done)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    await checkMergeGivesTuned(out, lokrTunedPath, ["lin.bias", "norm.weight"]);
  }, 120_000);

  it("LoKr without a rank keeps w2 full (per-module r in rank_pattern), kohya output merges to tuned", async () => {
    const out = join(tmp, "lokr-full.safetensors");
    const s = await extractAdapter({
      base: basePath,
      tuned: lokrTunedPath,
      algo: "LOKR",
      format: "kohya",
      targets: /^(lin|conv2)$/,
      out,
      registry: reg,
    });
    expect(Object.fromEntries(s.layers.map((l) => [l.module, [l.rank, l.structure]]))).toEqual({
      lin: [4, "w1 [8, 6] ⊗ w2 [8, 8]"],
      conv2: [2, "w1 [4, 2] ⊗ w2 [4, 4, 3, 3]"],
    });
    expect(JSON.parse(s.configJson).rank_pattern).toEqual({ lin: 4 });
    expect(s.otherChanged.find((c) => c.name === "conv1.weight")?.reason).toMatch(/targets/);
    for (const l of s.layers) expect(l.relativeError, l.module).toBeLessThan(1e-5);
    await checkMergeGivesTuned(out, lokrTunedPath, ["lin.bias", "norm.weight", "conv1.weight"]);
  }, 120_000);

  it("LoRA: a known rank-3 ΔW comes back at rank 3 (fixed, ratio) and merges to tuned", async () => {
    for (const rank of [
      { mode: "fixed", rank: 3 },
      { mode: "ratio", ratio: 1e-4 },
    ] as const) {
      const out = join(tmp, `lora-${rank.mode}`);
      const s = await extractAdapter({
        base: basePath,
        tuned: loraTunedPath,
        algo: "lora",
        rank,
        out,
        registry: reg,
      });
      expect(Object.fromEntries(s.layers.map((l) => [l.module, l.rank]))).toEqual({ lin: 3, conv2: 3 });
      // A rank-3 ΔW: the rank-3 SVD is exact up to float32 rounding of ΔW (~1e-7·|w|/|ΔW|).
      for (const l of s.layers) expect(l.relativeError, l.module).toBeLessThan(1e-5);
      const w = readSafetensorsSync(join(out, "adapter_model.safetensors")).tensors;
      expect(w.get("base_model.model.conv2.lora_A.weight")!.shape).toEqual([3, 8, 3, 3]);
      expect(w.get("base_model.model.conv2.lora_B.weight")!.shape).toEqual([16, 3, 1, 1]);
      await checkMergeGivesTuned(out, loraTunedPath, []);
    }
  }, 120_000);

  it("a fixed LoRA rank below ΔW's reports the error a float64 check gives", async () => {
    const s = await extractAdapter({
      base: basePath,
      tuned: loraTunedPath,
      algo: "lora",
      rank: { mode: "fixed", rank: 1 },
      registry: reg,
    });
    expect(s.out).toBeNull();
    const w = s.weights;
    const b = w.get("base_model.model.lin.lora_B.weight")!.data;
    const a = w.get("base_model.model.lin.lora_A.weight")!.data;
    const t = readSafetensorsSync(loraTunedPath).tensors.get("lin.weight")!.data;
    const o = base.get("lin.weight")!.data;
    let diff = 0;
    let norm = 0;
    for (let i = 0; i < 64; i++)
      for (let j = 0; j < 48; j++) {
        const d = t[i * 48 + j]! - o[i * 48 + j]!;
        const e = d - b[i]! * a[j]!;
        diff += e * e;
        norm += d * d;
      }
    // The reported error comes from a float32 B·A; the float64 one here differs by float32 rounding only.
    const lin = s.layers.find((l) => l.module === "lin")!;
    expect(lin.relativeError).toBeCloseTo(Math.sqrt(diff / norm), 5);
    expect(lin.relativeError).toBeGreaterThan(0.05);
  }, 60_000);

  it("typed errors: different tensors, shapes, bad options, nothing changed, existing output", async () => {
    const other = join(tmp, "other.safetensors");
    const fewer = new Map(base);
    fewer.delete("head.weight");
    await writeSafetensors(other, fewer);
    const opts = { base: basePath, algo: "lokr", registry: reg } as const;
    await expect(extractAdapter({ ...opts, tuned: other })).rejects.toMatchObject({
      name: "AdapterFilesError",
      kind: "input",
      message: expect.stringMatching(/missing from .*other\.safetensors: 'head\.weight'/),
    });
    const reshaped = new Map(base);
    reshaped.set("head.weight", randn([64, 10], 1));
    await writeSafetensors(other, reshaped);
    await expect(extractAdapter({ ...opts, tuned: other })).rejects.toMatchObject({
      kind: "input",
      message: expect.stringContaining("'head.weight' has shape [10, 64]"),
    });
    await expect(extractAdapter({ ...opts, tuned: basePath })).rejects.toMatchObject({
      kind: "input",
      message: expect.stringContaining("nothing to extract"),
    });
    await expect(extractAdapter({ ...opts, tuned: lokrTunedPath, algo: "loha" })).rejects.toMatchObject({
      kind: "invalid_option",
      field: "algo",
    });
    await expect(
      extractAdapter({ ...opts, tuned: lokrTunedPath, format: "gguf" as "peft" }),
    ).rejects.toBeInstanceOf(AdapterFilesError);
    await expect(extractAdapter({ ...opts, tuned: lokrTunedPath, factor: 0 })).rejects.toMatchObject({
      kind: "invalid_option",
      field: "factor",
    });
    await expect(
      extractAdapter({ ...opts, tuned: lokrTunedPath, rank: { mode: "ratio", ratio: 2 } }),
    ).rejects.toBeInstanceOf(AdapterError);
    await expect(
      extractAdapter({ ...opts, tuned: lokrTunedPath, rank: { mode: "quantile", quantile: 0.5 } }),
    ).rejects.toMatchObject({ name: "LoKrError", kind: "invalid_argument" });
    await expect(extractAdapter({ ...opts, tuned: loraTunedPath, algo: "lora" })).rejects.toMatchObject({
      name: "LoraError",
      field: "rank",
    });
    await expect(
      extractAdapter({ ...opts, tuned: lokrTunedPath, out: join(tmp, "lokr-extracted") }),
    ).rejects.toMatchObject({ kind: "refused" });
    await expect(
      extractAdapter({ ...opts, tuned: lokrTunedPath, out: basePath, format: "kohya" }),
    ).rejects.toMatchObject({ kind: "refused" });
    const controller = new AbortController();
    controller.abort();
    await expect(
      extractAdapter({ ...opts, tuned: lokrTunedPath, out: join(tmp, "aborted"), signal: controller.signal }),
    ).rejects.toMatchObject({ kind: "aborted" });
    expect(readdirSync(tmp)).not.toContain("aborted");
  }, 60_000);
});
