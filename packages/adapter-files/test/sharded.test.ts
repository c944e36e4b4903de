import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readSafetensorsSync, writeSafetensors } from "@lycoris-ts/safetensors";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdapterFilesError, mergeAdapters, openBaseModel, parseSafetensorsIndex } from "../src/index";
import { PEFT, registry } from "./support/fixtures";

// A small sharded model: the lokr-mixed-kinds base split into an index + 3 shards. Its merge must give
// exactly the tensors of the single-file merge (same engine, same bytes in, so bit-for-bit equality).
const CASE = "lokr-mixed-kinds";
const tmp = mkdtempSync(join(tmpdir(), "adapter-files-sharded-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const reg = registry();
const adapter = join(PEFT, CASE, "adapter");
const baseFile = join(PEFT, CASE, "base.safetensors");
const base = readSafetensorsSync(baseFile);
const names = [...base.tensors.keys()];
const shardOf = (i: number): string => `model-0000${1 + (i % 3)}-of-00003.safetensors`;

/** Writes the 3 shards and an index (edited by `edit`) into a fresh directory; returns it. */
async function shardedModel(dir: string, edit?: (map: Record<string, string>) => void): Promise<string> {
  const path = join(tmp, dir);
  mkdirSync(path);
  for (let s = 0; s < 3; s++) {
    const shard = new Map(names.filter((_, i) => i % 3 === s).map((n) => [n, base.tensors.get(n)!]));
    await writeSafetensors(join(path, shardOf(s)), shard, { metadata: base.metadata ?? {} });
  }
  const map: Record<string, string> = Object.fromEntries(names.map((n, i) => [n, shardOf(i)]));
  edit?.(map);
  writeFileSync(
    join(path, "model.safetensors.index.json"),
    JSON.stringify({ metadata: { total_size: 0 }, weight_map: map }),
  );
  return path;
}

let single: ReturnType<typeof readSafetensorsSync>;
let singleBytes: Buffer;
beforeAll(async () => {
  const out = join(tmp, "single.safetensors");
  await mergeAdapters({ base: baseFile, adapter, out, registry: reg });
  single = readSafetensorsSync(out);
  singleBytes = readFileSync(out);
});

describe("merging a sharded base model", () => {
  it("index path in, same shards + rewritten index out: tensors identical to the single-file merge", async () => {
    const model = await shardedModel("plain");
    const out = join(tmp, "plain-merged");
    const s = await mergeAdapters({
      base: join(model, "model.safetensors.index.json"),
      adapter,
      out,
      registry: reg,
    });
    expect(s.tensors).toBe(names.length);
    expect(readdirSync(out).sort()).toEqual(
      [0, 1, 2].map(shardOf).concat("model.safetensors.index.json").sort(),
    );
    const index = JSON.parse(readFileSync(join(out, "model.safetensors.index.json"), "utf8"));
    let total = 0;
    for (const [name, shard] of Object.entries(index.weight_map as Record<string, string>)) {
      expect(shard).toBe(shardOf(names.indexOf(name)));
      const merged = readSafetensorsSync(join(out, shard)).tensors.get(name)!;
      expect(merged.data, name).toEqual(single.tensors.get(name)!.data);
      total += merged.data.length * 4;
    }
    expect(Object.keys(index.weight_map).length).toBe(names.length);
    expect(index.metadata.total_size).toBe(total);
  });

  it("a directory in, --single-file out: the same bytes as the single-file merge", async () => {
    const model = await shardedModel("to-one");
    const out = join(tmp, "to-one.safetensors");
    await mergeAdapters({ base: model, adapter, out, registry: reg, singleFile: true });
    expect(readFileSync(out).equals(singleBytes)).toBe(true);
  });

  it("the files form (index + shards as Blobs, as a browser gives them), singleFile to a stream: the same bytes", async () => {
    const model = await shardedModel("as-files");
    const file = (name: string) => new File([readFileSync(join(model, name))], name);
    const files = {
      index: file("model.safetensors.index.json"),
      shards: new Map([0, 1, 2].map((i) => [shardOf(i), file(shardOf(i))] as const)),
    };
    const opened = await openBaseModel(files);
    expect(opened.names.sort()).toEqual([...names].sort());
    await opened.close();
    const chunks: Uint8Array[] = [];
    const out = new WritableStream<Uint8Array>({ write: (c) => void chunks.push(new Uint8Array(c)) });
    await mergeAdapters({ base: files, adapter, out, registry: reg, singleFile: true });
    expect(Buffer.concat(chunks).equals(singleBytes)).toBe(true);
    // a shard the index names but that was not given: typed, naming it and the index
    const missing = { index: files.index, shards: new Map([...files.shards].slice(1)) };
    await expect(openBaseModel(missing)).rejects.toMatchObject({ kind: "not_found" });
    await expect(openBaseModel(missing)).rejects.toThrow(
      `${shardOf(0)}: shard listed in model.safetensors.index.json was not given`,
    );
  });

  it("maxShardSize re-shards a single-file base: shards of at most that size, tensors identical", async () => {
    const out = join(tmp, "resharded");
    const max = 2048; // bytes; the largest tensor here (16·12·3·3 floats = 6912 bytes) gets a shard of its own
    await mergeAdapters({ base: baseFile, adapter, out, registry: reg, maxShardSize: max });
    const index = JSON.parse(readFileSync(join(out, "model.safetensors.index.json"), "utf8"));
    const shards = [...new Set(Object.values(index.weight_map as Record<string, string>))];
    expect(shards.length).toBeGreaterThan(3);
    const seen = new Set<string>();
    for (const [i, shard] of shards.entries()) {
      expect(shard).toBe(
        `model-${String(i + 1).padStart(5, "0")}-of-${String(shards.length).padStart(5, "0")}.safetensors`,
      );
      const file = readSafetensorsSync(join(out, shard));
      let bytes = 0;
      for (const [name, t] of file.tensors) {
        expect(t.data, name).toEqual(single.tensors.get(name)!.data);
        bytes += t.data.length * 4;
        seen.add(name);
      }
      if (file.tensors.size > 1) expect(bytes).toBeLessThanOrEqual(max);
    }
    expect([...seen].sort()).toEqual([...names].sort());
  });

  it("an abort mid-way leaves neither the output directory nor a temporary file", async () => {
    const model = await shardedModel("aborted");
    const out = join(tmp, "aborted-merged");
    const controller = new AbortController();
    const run = mergeAdapters({
      base: model,
      adapter,
      out,
      registry: reg,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.done === names.length - 2) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ kind: "aborted" });
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp).filter((f) => f.includes(".tmp"))).toEqual([]);
  });

  it("a sharded output needs a directory: a .safetensors path is refused before anything is written", async () => {
    const model = await shardedModel("needs-dir");
    const out = join(tmp, "needs-dir.safetensors");
    await expect(mergeAdapters({ base: model, adapter, out, registry: reg })).rejects.toMatchObject({
      kind: "input",
    });
    expect(existsSync(out)).toBe(false);
  });
});

describe("index errors are typed (AdapterFilesError) and name what is wrong", () => {
  const cases: [string, (dir: string) => Promise<string>, string, RegExp][] = [
    [
      "a missing shard",
      (d) => shardedModel(d, (m) => Object.assign(m, { [names[0]!]: "model-00009-of-00003.safetensors" })),
      "not_found",
      /model-00009-of-00003\.safetensors: shard listed in .* cannot be opened/,
    ],
    [
      "a shard missing a listed tensor",
      (d) => shardedModel(d, (m) => Object.assign(m, { "ghost.weight": shardOf(0) })),
      "input",
      /has no tensor 'ghost\.weight', which .* lists in it/,
    ],
    [
      "a tensor in a shard but not in the index",
      (d) => shardedModel(d, (m) => delete m[names[1]!]),
      "input",
      new RegExp(`holds tensor '${names[1]!.replace(/\./g, "\\.")}', which is not in the index`),
    ],
    [
      "a tensor listed for another shard than the one holding it",
      (d) => shardedModel(d, (m) => Object.assign(m, { [names[0]!]: shardOf(1) })),
      "input",
      /which is listed in model-00002-of-00003\.safetensors/,
    ],
  ];
  for (const [what, make, kind, message] of cases) {
    it(what, async () => {
      const dir = await make(what.replace(/\W+/g, "-"));
      const error = await openBaseModel(dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AdapterFilesError);
      expect(error).toMatchObject({ kind });
      expect((error as Error).message).toMatch(message);
    });
  }

  it("a tensor listed twice (a repeated weight_map key, which JSON.parse would drop silently)", () => {
    const text = '{"metadata":{},"weight_map":{"a.weight":"s1.safetensors","a.weight":"s2.safetensors"}}';
    expect(() => parseSafetensorsIndex(text, "x.json")).toThrow(/tensor 'a\.weight' is listed twice/);
    expect(() => parseSafetensorsIndex(text, "x.json")).toThrow(AdapterFilesError);
  });

  it("malformed JSON, no weight_map, a shard path leaving the directory", () => {
    for (const [text, message] of [
      ['{"weight_map": {', /not JSON/],
      ['{"metadata": {}}', /no 'weight_map' object/],
      ['{"weight_map": {"a": "../b.safetensors"}}', /expected a shard file name next to the index/],
    ] as const) {
      const error = (() => {
        try {
          parseSafetensorsIndex(text, "x.json");
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(AdapterFilesError);
      expect(error).toMatchObject({ kind: "input" });
      expect((error as Error).message).toMatch(message);
    }
  });
});
