import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parseLoraRank } from "../src/commands/convert-to-lora";
import { runCli } from "./support/run-cli";

const peftRoot = fileURLToPath(new URL("../../../fixtures/peft/", import.meta.url));
const conversionRoot = fileURLToPath(new URL("../../../fixtures/peft-lora-conversion/", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "lycoris-cli-to-lora-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("lycoris convert --to lora", () => {
  it("parses --rank as PEFT tells int from float", () => {
    expect(parseLoraRank("8")).toEqual({ rank: 8 });
    expect(parseLoraRank("1")).toEqual({ rank: 1 });
    expect(parseLoraRank("1.0")).toEqual({ threshold: 1 });
    expect(parseLoraRank("0.9")).toEqual({ threshold: 0.9 });
    expect(parseLoraRank("-1")).toEqual({ rank: -1 });
    expect(() => parseLoraRank("eight")).toThrow("--rank: expected");
  });

  it("writes PEFT's LoRA folder and prints PEFT's per-layer ranks with energy and relative error", () => {
    const out = join(tmp, "lora-0.9");
    const run = runCli([
      "convert",
      join(peftRoot, "lokr-linear-full", "adapter"),
      "--to",
      "lora",
      "--rank",
      "0.9",
      "--out",
      out,
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const exp = JSON.parse(
      readFileSync(join(conversionRoot, "lokr-linear-full", "rank-0.9", "expected.json"), "utf8"),
    ) as { modules: Record<string, { effective_rank: number; relative_error: number }> };
    for (const [m, e] of Object.entries(exp.modules)) {
      const line = run.stdout.split("\n").find((l) => l.startsWith(`${m} `));
      expect(line, m).toBeDefined();
      const cells = line!.split(/\s+/);
      expect(Number(cells[3]), `${m} rank`).toBe(e.effective_rank);
      // relative error printed with 4 significant digits: within 1e-3 relative of PEFT's float32 value
      expect(Math.abs(Number(cells[6]) - e.relative_error), `${m} error`).toBeLessThanOrEqual(
        1e-3 * e.relative_error,
      );
    }
    expect(
      existsSync(join(out, "adapter_config.json")) && existsSync(join(out, "adapter_model.safetensors")),
    ).toBe(true);
    expect(run.stdout).toContain("worst relative error");
  });

  it("refuses convs with PEFT's error under --peft-compatible and converts them otherwise", () => {
    const adapter = join(peftRoot, "lokr-conv2d-full", "adapter");
    const refused = runCli([
      "convert",
      adapter,
      "--to",
      "lora",
      "--rank",
      "2",
      "--peft-compatible",
      "--out",
      join(tmp, "no"),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      "Some module types on this model do not support LoRA conversion: <class 'peft.tuners.lokr.layer.Conv2d'>.",
    );
    expect(existsSync(join(tmp, "no"))).toBe(false);
    const ok = runCli(["convert", adapter, "--to", "lora", "--rank", "2", "--out", join(tmp, "conv")]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/conv2d/);
  });

  it("gives PEFT's rank errors and usage errors", () => {
    const adapter = join(peftRoot, "lokr-linear-full", "adapter");
    const bad = runCli(["convert", adapter, "--to", "lora", "--rank", "1.5", "--out", join(tmp, "bad")]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("It must be between 0 and 1 but got 1.5.");
    const missing = runCli(["convert", adapter, "--to", "lora", "--out", join(tmp, "bad")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("needs --rank");
    const misplaced = runCli([
      "convert",
      adapter,
      "--to",
      "lycoris",
      "--rank",
      "2",
      "--out",
      join(tmp, "x.safetensors"),
    ]);
    expect(misplaced.code).toBe(2);
    expect(misplaced.stderr).toContain("--rank applies to --to lora only");
  });

  it("documents --to lora in --help", () => {
    const help = runCli(["convert", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--peft-compatible");
    expect(help.stdout).toContain("--to lora --rank 16");
  });
});
