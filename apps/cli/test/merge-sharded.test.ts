import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readSafetensorsSync, writeSafetensors } from "@lycoris-ts/safetensors";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseByteSize } from "../src/options";
import { fixtureCases } from "./support/fixtures";
import { runCli } from "./support/run-cli";

// `lycoris merge` of a sharded base (index + 3 shards): the merged tensors must be exactly those of the
// merge of the same model as one file (the same engine reads the same bytes: bit-for-bit equality).
const c = fixtureCases().find((x) => x.name === "lokr-mixed-kinds")!;
const tmp = mkdtempSync(join(tmpdir(), "lycoris-cli-sharded-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const model = join(tmp, "model");
const single = join(tmp, "single.safetensors");
const base = readSafetensorsSync(c.base);
const names = [...base.tensors.keys()];
const shardOf = (i: number): string => `model-0000${1 + (i % 3)}-of-00003.safetensors`;

beforeAll(async () => {
  mkdirSync(model);
  for (let s = 0; s < 3; s++) {
    const tensors = new Map(names.filter((_, i) => i % 3 === s).map((n) => [n, base.tensors.get(n)!]));
    await writeSafetensors(join(model, shardOf(s)), tensors, { metadata: base.metadata ?? {} });
  }
  const weightMap = Object.fromEntries(names.map((n, i) => [n, shardOf(i)]));
  writeFileSync(
    join(model, "model.safetensors.index.json"),
    JSON.stringify({ metadata: {}, weight_map: weightMap }),
  );
  expect(runCli(["merge", "--base", c.base, "--adapter", c.adapterDir, "--out", single]).code).toBe(0);
}, 60_000);

/** Every tensor of a sharded output directory, read through its index. */
function readSharded(dir: string, index = "model.safetensors.index.json") {
  const map = JSON.parse(readFileSync(join(dir, index), "utf8")).weight_map as Record<string, string>;
  return new Map(
    Object.entries(map).map(([n, shard]) => [n, readSafetensorsSync(join(dir, shard)).tensors.get(n)!]),
  );
}

describe("lycoris merge of a sharded base model", () => {
  it("--base <index>: the same shards and a rewritten index, tensors identical to the single-file merge", () => {
    const out = join(tmp, "merged");
    const run = runCli([
      "merge",
      "--base",
      join(model, "model.safetensors.index.json"),
      "--adapter",
      c.adapterDir,
      "--out",
      out,
    ]);
    expect(run.stderr).not.toContain("error");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(out);
    expect(readdirSync(out).sort()).toEqual(
      [...[0, 1, 2].map(shardOf), "model.safetensors.index.json"].sort(),
    );
    const want = readSafetensorsSync(single).tensors;
    const got = readSharded(out);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [n, t] of got) expect(t.data, n).toEqual(want.get(n)!.data);
  });

  it("--base <dir> --single-file: byte for byte the single-file merge", () => {
    const out = join(tmp, "one.safetensors");
    expect(
      runCli(["merge", "--base", model, "--adapter", c.adapterDir, "--single-file", "--out", out]).code,
    ).toBe(0);
    expect(readFileSync(out).equals(readFileSync(single))).toBe(true);
  });

  it("--max-shard-size 1KB re-shards; a malformed size is a usage error", () => {
    const out = join(tmp, "resharded");
    expect(
      runCli(["merge", "--base", model, "--adapter", c.adapterDir, "--max-shard-size", "1KB", "--out", out])
        .code,
    ).toBe(0);
    const want = readSafetensorsSync(single).tensors;
    for (const [n, t] of readSharded(out)) expect(t.data, n).toEqual(want.get(n)!.data);
    expect(readdirSync(out).length).toBeGreaterThan(4);
    const bad = runCli([
      "merge",
      "--base",
      model,
      "--adapter",
      c.adapterDir,
      "--max-shard-size",
      "2 parsecs",
      "--out",
      out,
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--max-shard-size/);
  });

  it("parseByteSize reads sizes as Hugging Face writes them", () => {
    expect(parseByteSize("2GB")).toBe(2e9);
    expect(parseByteSize("500MB")).toBe(5e8);
    expect(parseByteSize("4GiB")).toBe(4 * 2 ** 30);
    expect(parseByteSize("1.5kb")).toBe(1500);
    expect(parseByteSize("123")).toBe(123);
    for (const bad of ["", "0", "-1GB", "2XB", "GB"]) expect(() => parseByteSize(bad), bad).toThrow();
  });
});
