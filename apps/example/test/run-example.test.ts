import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOrTrainBase } from "../src/base-model";
import { loadMnistTasks } from "../src/data";
import { type ExampleResult, MERGE_TOLERANCE, runExample } from "../src/run-example";

// A short run: 150 samples per digit (1,500 in total), 3 base epochs, 4 adapter epochs.
const SHORT = { perDigit: 150, baseEpochs: 3, epochs: 4, seed: 0, log: null, progress: false } as const;

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "example-test-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function checkResult(r: ExampleResult): void {
  // The base never saw digits 5-9: on a 5-way head it should be far from perfect; the adapter must
  // gain at least 20 points on the held-out split (~300 samples, so 20 points is ~60 samples, far
  // above the noise of one seed; the full default run gains ~65 points).
  expect(r.adaptedAccuracyB).toBeGreaterThan(r.baseAccuracyB + 0.2);
  // Disabling the adapters gives back the base model exactly (same weights, same code path).
  expect(r.disabledAccuracyA).toBe(r.baseAccuracyA);
  // Reloading the saved adapter into a fresh model must reproduce the logits bit for bit
  // (float32 round-trips exactly through the F32 safetensors file).
  expect(r.reload.sameArgmax).toBe(true);
  expect(r.reload.maxAbsDiff).toBe(0);
  expect(r.reload.ok).toBe(true);
  // Merged W + ΔW vs the unmerged path differ only by float32 rounding: tolerance 1e-4 on logits of O(10).
  expect(r.merge.sameArgmax).toBe(true);
  expect(r.merge.maxAbsDiff).toBeLessThan(MERGE_TOLERANCE);
  expect(r.merge.ok).toBe(true);
}

describe("runExample (short run)", () => {
  it("LoKr: improves task-B accuracy; save/reload and merge checks pass; the base is cached", async () => {
    const out = join(work, "lokr");
    const cacheDir = join(work, "cache");
    const r = await runExample({
      ...SHORT,
      adapter: "lokr",
      r: 4,
      alpha: 8,
      decomposeBoth: true,
      decomposeFactor: -1,
      out,
      cacheDir,
    });
    expect(r.baseFromCache).toBe(false);
    checkResult(r);
    expect(r.trainableLine).toMatch(
      /^trainable params: [\d,]+ \|\| all params: [\d,]+ \|\| trainable%: [\d.]+$/,
    );
    const config = JSON.parse(await readFile(join(out, "adapter_config.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(config.peft_type).toBe("LOKR");
    expect(config.decompose_both).toBe(true);
    expect([...(config.target_modules as string[])].sort()).toEqual(["conv1", "conv2", "fc1", "fc2"]);
    // Same data and seed: the second base request is served from the cache.
    const tasks = loadMnistTasks({ seed: 0, perDigit: 150 });
    const again = await loadOrTrainBase({
      data: tasks.taskA.train,
      seed: 0,
      epochs: 3,
      learningRate: 3e-3,
      batchSize: 64,
      cacheDir,
    });
    expect(again.fromCache).toBe(true);
  });

  it("LoHa: improves task-B accuracy; save/reload and merge checks pass", async () => {
    const r = await runExample({
      ...SHORT,
      adapter: "loha",
      r: 4,
      alpha: 4,
      decomposeBoth: false,
      decomposeFactor: -1,
      out: join(work, "loha"),
      cacheDir: join(work, "cache"),
    });
    expect(r.baseFromCache).toBe(true);
    checkResult(r);
    const config = JSON.parse(await readFile(join(r.adapterDir, "adapter_config.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(config.peft_type).toBe("LOHA");
  });
});
