import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SafetensorsReader, writeSafetensors } from "@lycoris-ts/safetensors";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./support/run-cli";

const LAYERS = 40;
const DIM = 1024; // 4 MiB per float32 weight, 160 MiB in all
const MiB = 1024 * 1024;

const tmp = mkdtempSync(join(tmpdir(), "lycoris-cli-stream-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs the CLI with a preload that records the process's peak resident memory (bytes). */
function peakRss(
  args: readonly string[],
  tag: string,
): { code: number | null; stderr: string; peak: number } {
  const file = join(tmp, `rss-${tag}`);
  const run = runCli(args, { nodeArgs: ["--require", join(tmp, "rss.cjs")], env: { RSS_OUT: file } });
  return { code: run.code, stderr: run.stderr, peak: Number(readFileSync(file, "utf8")) * 1024 };
}

describe("lycoris merge streams", () => {
  beforeAll(async () => {
    writeFileSync(
      join(tmp, "rss.cjs"),
      'process.on("exit", () => require("node:fs").writeFileSync(process.env.RSS_OUT, String(process.resourceUsage().maxRSS)));\n',
    );
    const base = new Map<string, { data: Float32Array; shape: number[] }>();
    for (let i = 0; i < LAYERS; i++) {
      base.set(`layers.${i}.weight`, { data: new Float32Array(DIM * DIM).fill(0.5), shape: [DIM, DIM] });
    }
    await writeSafetensors(join(tmp, "base.safetensors"), base);
    mkdirSync(join(tmp, "adapter"));
    const adapter = new Map<string, { data: Float32Array; shape: number[] }>();
    for (let i = 0; i < LAYERS; i++) {
      // full factors (r ≥ max(l, k) / 2): ΔW = alpha / r · w1 ⊗ w2 = 1 · 0.01 · 0.02 everywhere
      adapter.set(`base_model.model.layers.${i}.lokr_w1`, {
        data: new Float32Array(32 * 32).fill(0.01),
        shape: [32, 32],
      });
      adapter.set(`base_model.model.layers.${i}.lokr_w2`, {
        data: new Float32Array(32 * 32).fill(0.02),
        shape: [32, 32],
      });
    }
    await writeSafetensors(join(tmp, "adapter", "adapter_model.safetensors"), adapter);
    writeFileSync(
      join(tmp, "adapter", "adapter_config.json"),
      JSON.stringify({ peft_type: "LOKR", r: 64, alpha: 64, target_modules: ["layers.0"] }),
    );
  }, 120_000);

  it(`merges a ${(LAYERS * DIM * DIM * 4) / MiB} MiB base with far less extra memory than the base's size`, async () => {
    const out = join(tmp, "merged.safetensors");
    const baseline = peakRss(["inspect", join(tmp, "adapter")], "inspect");
    expect(baseline.code).toBe(0);
    const merge = peakRss(
      [
        "merge",
        "--base",
        join(tmp, "base.safetensors"),
        "--adapter",
        join(tmp, "adapter"),
        "--out",
        out,
        "-q",
      ],
      "merge",
    );
    expect(merge.stderr).toBe("");
    expect(merge.code).toBe(0);
    // Loading the whole base would add ≥ 160 MiB; streaming adds a few 4 MiB tensors plus garbage
    // the collector has not reclaimed yet (measured ≈ 35 MiB). Bound: half the base.
    const extra = merge.peak - baseline.peak;
    expect(extra).toBeLessThan((LAYERS * DIM * DIM * 4) / 2);

    const reader = await SafetensorsReader.open(out);
    try {
      expect(reader.names).toHaveLength(LAYERS);
      for (const name of ["layers.0.weight", `layers.${LAYERS - 1}.weight`]) {
        const t = await reader.read(name);
        // 0.5 + 0.01·0.02 in float32; 1e-7 covers the float32 rounding of the sum
        for (const i of [0, 12345, t.data.length - 1])
          expect(Math.abs(t.data[i]! - 0.5002)).toBeLessThan(1e-7);
      }
    } finally {
      await reader.close();
    }
  });
});
