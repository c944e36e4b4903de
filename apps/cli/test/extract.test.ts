import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRng, type Tensor } from "@lycoris-ts/kernels";
import { readSafetensorsSync, writeSafetensors } from "@lycoris-ts/safetensors";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectOneLineError, lines, runCli } from "./support/run-cli";
import { worstExcess } from "./support/worst-excess";

const tmp = mkdtempSync(join(tmpdir(), "lycoris-cli-extract-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const base = join(tmp, "base.safetensors");
const tuned = join(tmp, "tuned.safetensors");

function randn(rng: ReturnType<typeof createRng>, shape: number[], std: number): Tensor<Float32Array> {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
  return { data, shape };
}

/**
 * tuned = base + kron(w1, w2_a·w2_b) on `attn.q` ([32, 24]) and `mlp.up` ([48, 32]), computed here in float64:
 * w1 [l, m], w2 a rank-2 product of shape [k, n], with (l, k) and (m, n) the balanced splits PEFT's LoKr picks
 * (32 = 4·8, 24 = 4·6, 48 = 6·8, 32 = 4·8). The bias changes too (reported, not extracted).
 */
beforeAll(async () => {
  const rng = createRng(7);
  const b = new Map<string, Tensor<Float32Array>>([
    ["attn.q.weight", randn(rng, [32, 24], 0.5)],
    ["attn.q.bias", randn(rng, [32], 0.5)],
    ["mlp.up.weight", randn(rng, [48, 32], 0.5)],
  ]);
  await writeSafetensors(base, b);
  const t = new Map(b);
  for (const [name, [l, k], [m, n]] of [
    ["attn.q.weight", [4, 8], [4, 6]],
    ["mlp.up.weight", [6, 8], [4, 8]],
  ] as const) {
    const w1 = randn(rng, [l, m], 0.7).data;
    const a = randn(rng, [k, 2], 0.7).data;
    const bb = randn(rng, [2, n], 0.7).data;
    const w = b.get(name)!;
    const cols = m * n;
    const out = Float32Array.from(w.data);
    for (let p = 0; p < l; p++)
      for (let q = 0; q < k; q++)
        for (let i = 0; i < m; i++)
          for (let j = 0; j < n; j++) {
            const w2 = a[q * 2]! * bb[j]! + a[q * 2 + 1]! * bb[n + j]!;
            out[(p * k + q) * cols + i * n + j] =
              w.data[(p * k + q) * cols + i * n + j]! + w1[p * m + i]! * w2;
          }
    t.set(name, { data: out, shape: w.shape });
  }
  t.set("attn.q.bias", { data: b.get("attn.q.bias")!.data.map((x) => x + 0.1), shape: [32] });
  await writeSafetensors(tuned, t);
});

/** Merges with the CLI and checks |merged − tuned| ≤ 1e-5·(1 + |tuned|) on the weights (float32 rounding only). */
function expectMergeGivesTuned(adapter: string): void {
  const merged = join(tmp, `merged-${readdirSync(tmp).length}.safetensors`);
  const run = runCli(["merge", "--base", base, "--adapter", adapter, "--out", merged, "--no-progress", "-q"]);
  expect(run.stderr).toBe("");
  const got = readSafetensorsSync(merged).tensors;
  for (const name of ["attn.q.weight", "mlp.up.weight"]) {
    const want = readSafetensorsSync(tuned).tensors.get(name)!.data;
    expect(worstExcess(got.get(name)!.data, want), name).toBeLessThanOrEqual(0);
  }
}

describe("lycoris extract", () => {
  it("LoKr: recovers the known adapter (report, progress), and merge reproduces tuned", () => {
    const out = join(tmp, "lokr");
    const run = runCli(
      ["extract", "--base", base, "--tuned", tuned, "--algo", "lokr", "--rank", "2", "--out", out],
      { timeoutMs: 120_000 },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/extracting \[.*\] 100% \| 3\/3 tensors/);
    const out1 = lines(run.stdout);
    expect(out1[0]).toMatch(/^module\s+shape\s+rank\s+rel\. error\s+factors$/);
    expect(out1.find((l) => l.startsWith("attn.q "))).toMatch(
      /\[32, 24\]\s+2\s+\S+\s+w1 \[4, 4\] ⊗ w2 \[8, 2\]·\[2, 6\]$/,
    );
    expect(run.stdout).toMatch(/attn\.q\.bias\s+\[32\]\s+not a weight/);
    expect(out1.at(-1)).toMatch(
      /^extracted 2 LOKR modules \(max relative error .*, 1 changed tensor not extracted, 0 tensors unchanged\) as a PEFT adapter: .*lokr \(/,
    );
    // Each reported error is below 1e-5: ΔW is an exact rank-2-w2 Kronecker product up to float32 rounding.
    for (const l of out1.filter((x) => /^(attn|mlp)\./.test(x)))
      expect(Number(l.split(/\s+/)[4]), l).toBeLessThan(1e-5);
    expect(JSON.parse(readFileSync(join(out, "adapter_config.json"), "utf8")).peft_type).toBe("LOKR");
    expectMergeGivesTuned(out);
  }, 180_000);

  it("LoRA to a kohya file (format from the .safetensors name), merged back within the reported error", () => {
    const out = join(tmp, "lora.safetensors");
    // A rank-2-w2 Kronecker ΔW has rank ≤ rank(w1)·2 = 8 (attn.q) and 8 (mlp.up): rank 8 is exact.
    const run = runCli(
      [
        "extract",
        "--base",
        base,
        "--tuned",
        tuned,
        "--algo",
        "lora",
        "--rank",
        "8",
        "--out",
        out,
        "--no-progress",
      ],
      { timeoutMs: 120_000 },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe("");
    expect(run.stdout).toMatch(/as a kohya\/LyCORIS file/);
    expectMergeGivesTuned(out);
  }, 180_000);

  it("--help lists the options and the modes", () => {
    const run = runCli(["extract", "--help"]);
    expect(run.code).toBe(0);
    for (const flag of ["--base", "--tuned", "--algo", "--out", "--format", "--factor", "--decompose-both"])
      expect(run.stdout).toContain(flag);
    for (const flag of ["--rank", "--threshold", "--ratio", "--quantile", "--targets"])
      expect(run.stdout).toContain(flag);
    expect(run.stdout).toContain("Van Loan");
  });

  it("errors: conflicting rank options, bad values, shape mismatch, unknown algo", async () => {
    const out = join(tmp, "never");
    const args = ["extract", "--base", base, "--tuned", tuned, "--out", out];
    expectOneLineError(
      runCli([...args, "--algo", "lora", "--rank", "2", "--ratio", "0.1"]),
      /cannot be used with/,
      2,
    );
    expectOneLineError(runCli([...args, "--algo", "lora", "--ratio", "1.5"]), /\[0, 1\]/, 2);
    expectOneLineError(runCli([...args, "--algo", "lora", "--targets", "("]), /regular expression/, 2);
    expectOneLineError(
      runCli([...args, "--algo", "loha"]),
      /cannot extract 'loha': extractable adapter types are/,
    );
    const other = join(tmp, "other.safetensors");
    await writeSafetensors(
      other,
      new Map([["attn.q.weight", { data: new Float32Array(24 * 32), shape: [24, 32] }]]),
    );
    expectOneLineError(
      runCli(["extract", "--base", base, "--tuned", other, "--algo", "lokr", "--out", out]),
      /different tensors/,
    );
    expect(readdirSync(tmp)).not.toContain("never");
  }, 120_000);
});
