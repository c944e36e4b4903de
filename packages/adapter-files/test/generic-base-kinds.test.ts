import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Tensor } from "@lycoris-ts/kernels";
import { readSafetensorsSync, serializeSafetensors } from "@lycoris-ts/safetensors";
import { afterAll, describe, expect, it } from "vitest";
import { mergeKohyaFile, validateKohyaFile } from "../src/index";
import { registry, worstExcess } from "./support/fixtures";

// Every module kind ComfyUI's loader reads (fixtures/lycoris-layouts/FORMAT.md, "ComfyUI specifics"), in one
// file placed on a generic base (tensor names are module paths: no SD1.x / SDXL / Flux key map), merged at
// strength 0.7 and compared with a float64 recomputation of ComfyUI's rules written here:
// - Tucker LoCon: ΔW[o, n, …] = Σ_ij up[o, i] · mid[i, j, …] · down[j, n], W += s · (alpha / rank) · ΔW;
// - `.diff` / `.diff_b`, `w_norm` / `b_norm`: W += s · diff, b += s · diff_b;
// - DoRA on LoRA: W' = (W + scale · up·down) · dora_scale / (‖row of the original W‖ + ε), W += s · (W' − W);
// - a diffusers-named LoRA (`lora_A` / `lora_B`, dotted module path) without alpha: scale 1.
// Tolerance: worstExcess, |merged − reference| ≤ 1e-5·(1 + |reference|): the merge runs in float32 on sums of at
// most 4·3·3 products of values below 1, a few float32 roundings (~1e-7 relative) away from the float64 result.

const tmp = mkdtempSync(join(tmpdir(), "adapter-files-generic-kinds-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const reg = registry();
const EPS = 1.1920929e-7;
const S = 0.7;

/** Deterministic values in (−0.5, 0.5) (a fixed linear congruential sequence per seed). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out[i] = x / 2147483648 - 0.5;
  }
  return out;
}
let seed = 1;
const t = (shape: number[]): Tensor<Float32Array> => ({
  data: values(
    shape.reduce((a, b) => a * b, 1),
    seed++,
  ),
  shape,
});
const scalar = (v: number): Tensor<Float32Array> => ({ data: Float32Array.of(v), shape: [] });

const base = {
  "blocks.0.conv.weight": t([5, 4, 3, 3]),
  "blocks.0.conv.bias": t([5]),
  "blocks.0.proj.weight": t([6, 5]),
  "blocks.0.proj.bias": t([6]),
  "blocks.0.norm.weight": t([6]),
  "blocks.0.norm.bias": t([6]),
  "blocks.0.fc.weight": t([3, 6]),
  "head.weight": t([4, 6]),
};
const adapter = {
  "lycoris_blocks_0_conv.lora_down.weight": t([2, 4, 1, 1]),
  "lycoris_blocks_0_conv.lora_mid.weight": t([2, 2, 3, 3]),
  "lycoris_blocks_0_conv.lora_up.weight": t([5, 2, 1, 1]),
  "lycoris_blocks_0_conv.alpha": scalar(3),
  "lycoris_blocks_0_proj.diff": t([6, 5]),
  "lycoris_blocks_0_proj.diff_b": t([6]),
  "lycoris_blocks_0_norm.w_norm": t([6]),
  "lycoris_blocks_0_norm.b_norm": t([6]),
  "blocks.0.fc.lora_A.weight": t([2, 6]),
  "blocks.0.fc.lora_B.weight": t([3, 2]),
  "lycoris_head.lora_down.weight": t([3, 6]),
  "lycoris_head.lora_up.weight": t([4, 3]),
  "lycoris_head.alpha": scalar(1.5),
  "lycoris_head.dora_scale": t([4, 1]),
};
const basePath = join(tmp, "base.safetensors");
const adapterPath = join(tmp, "adapter.safetensors");
writeFileSync(basePath, serializeSafetensors(base));
writeFileSync(adapterPath, serializeSafetensors(adapter));

const f64 = (x: Tensor<Float32Array>): Float64Array => Float64Array.from(x.data);

/** `up [o, r] · down [r, n]` in float64. */
function matmul(up: Float32Array, down: Float32Array, o: number, r: number, n: number): Float64Array {
  const out = new Float64Array(o * n);
  for (let i = 0; i < o; i++)
    for (let k = 0; k < r; k++)
      for (let j = 0; j < n; j++) out[i * n + j]! += up[i * r + k]! * down[k * n + j]!;
  return out;
}

/** W + s · scale · ΔW. */
const added = (w: Float64Array, delta: ArrayLike<number>, scale: number): Float64Array =>
  w.map((v, i) => v + S * scale * delta[i]!);

function tuckerReference(): Float64Array {
  const [up, mid, down] = [
    adapter["lycoris_blocks_0_conv.lora_up.weight"].data,
    adapter["lycoris_blocks_0_conv.lora_mid.weight"].data,
    adapter["lycoris_blocks_0_conv.lora_down.weight"].data,
  ];
  const delta = new Float64Array(5 * 4 * 9);
  for (let o = 0; o < 5; o++)
    for (let n = 0; n < 4; n++)
      for (let k = 0; k < 9; k++) {
        let sum = 0;
        for (let i = 0; i < 2; i++)
          for (let j = 0; j < 2; j++) sum += up[o * 2 + i]! * mid[(i * 2 + j) * 9 + k]! * down[j * 4 + n]!;
        delta[(o * 4 + n) * 9 + k] = sum;
      }
  return added(f64(base["blocks.0.conv.weight"]), delta, 3 / 2);
}

function doraReference(): Float64Array {
  const w = f64(base["head.weight"]);
  const delta = matmul(
    adapter["lycoris_head.lora_up.weight"].data,
    adapter["lycoris_head.lora_down.weight"].data,
    4,
    3,
    6,
  );
  const out = new Float64Array(w);
  for (let o = 0; o < 4; o++) {
    const row = w.subarray(o * 6, o * 6 + 6);
    const norm = Math.sqrt(row.reduce((a, v) => a + v * v, 0));
    const m = adapter["lycoris_head.dora_scale"].data[o]! / (norm + EPS);
    for (let j = 0; j < 6; j++) {
      const full = (row[j]! + (1.5 / 3) * delta[o * 6 + j]!) * m;
      out[o * 6 + j] = row[j]! + S * (full - row[j]!);
    }
  }
  return out;
}

const reference: Record<string, Float64Array> = {
  "blocks.0.conv.weight": tuckerReference(),
  "blocks.0.proj.weight": added(
    f64(base["blocks.0.proj.weight"]),
    adapter["lycoris_blocks_0_proj.diff"].data,
    1,
  ),
  "blocks.0.proj.bias": added(
    f64(base["blocks.0.proj.bias"]),
    adapter["lycoris_blocks_0_proj.diff_b"].data,
    1,
  ),
  "blocks.0.norm.weight": added(
    f64(base["blocks.0.norm.weight"]),
    adapter["lycoris_blocks_0_norm.w_norm"].data,
    1,
  ),
  "blocks.0.norm.bias": added(
    f64(base["blocks.0.norm.bias"]),
    adapter["lycoris_blocks_0_norm.b_norm"].data,
    1,
  ),
  "blocks.0.fc.weight": added(
    f64(base["blocks.0.fc.weight"]),
    matmul(adapter["blocks.0.fc.lora_B.weight"].data, adapter["blocks.0.fc.lora_A.weight"].data, 3, 2, 6),
    1,
  ),
  "head.weight": doraReference(),
};

describe("single files on a generic base: every module kind, read as ComfyUI's loader reads it", () => {
  it("mergeKohyaFile: Tucker LoCon, diff / diff_b, w_norm / b_norm, diffusers LoRA and DoRA = the float64 reference", async () => {
    const out = join(tmp, "merged.safetensors");
    const s = await mergeKohyaFile({ base: basePath, adapter: adapterPath, out, scale: S, registry: reg });
    expect([s.mergedModules, s.algos, s.dora, s.prefixes]).toEqual([
      5,
      { LORA: 3, diff: 2 },
      1,
      { lycoris: "" },
    ]);
    const merged = readSafetensorsSync(out).tensors;
    for (const [name, b] of Object.entries(base)) {
      const want = reference[name];
      const got = merged.get(name)!.data;
      if (want === undefined) expect(got, name).toEqual(b.data);
      else {
        expect(worstExcess(got, want), name).toBeLessThanOrEqual(0);
        // the patch changed the tensor (beyond the tolerance), so the comparison above is not vacuous
        expect(worstExcess(b.data, want), name).toBeGreaterThan(0);
      }
    }
  });

  it("validateKohyaFile: every module resolved and fitting its base weight and bias", async () => {
    const report = await validateKohyaFile(adapterPath, { base: basePath, registry: reg });
    const checks = report.adapters[0]!.checks;
    expect(report.ok, JSON.stringify(checks)).toBe(true);
    expect(report.adapters[0]!.peftType).toBe("LORA+diff");
    expect(checks.map((c) => c.message)).toEqual([
      "5 LORA + diff modules resolved (lycoris → (root))",
      "all 5 modules fit their base weights",
    ]);
  });

  it("validateKohyaFile: a bias difference the base lacks, and a non-finite diff, are reported", async () => {
    const bad = join(tmp, "bad.safetensors");
    const nan = t([3, 6]);
    nan.data[4] = Number.NaN;
    writeFileSync(
      bad,
      serializeSafetensors({ "lycoris_blocks_0_fc.diff": nan, "lycoris_blocks_0_fc.diff_b": t([3]) }),
    );
    const report = await validateKohyaFile(bad, { base: basePath, registry: reg });
    const errors = report.adapters[0]!.checks.filter((c) => c.level === "error").map((c) => c.message);
    expect(errors).toEqual([
      expect.stringContaining("has no tensor 'blocks.0.fc.bias'"),
      "non-finite value NaN at element 4 of 18 (NaN/Inf)",
    ]);
  });
});
