import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { findSafetensorsFiles, rawSafetensors, tempDir } from "../../../test-support/fixtures";
import {
  parseSafetensors,
  readSafetensors,
  readSafetensorsSync,
  SafetensorsError,
  SafetensorsReader,
  SafetensorsWriter,
  serializeSafetensors,
  writeFileAtomic,
  writeSafetensors,
} from "../src/index";

const fixture = findSafetensorsFiles().find((f) => f.endsWith("lokr-multi-adapter/base.safetensors"))!;

const t = (values: number[], shape: number[] = [values.length]) => ({
  data: Float32Array.from(values),
  shape,
});

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

describe("whole-file reads", () => {
  test("readSafetensors and readSafetensorsSync agree with parseSafetensors", async () => {
    const direct = parseSafetensors(readFileSync(fixture));
    expect(await readSafetensors(fixture)).toEqual(direct);
    expect(readSafetensorsSync(fixture)).toEqual(direct);
  });

  test("a missing file is a SafetensorsError of kind io naming the path", async () => {
    const path = join(tempDir("missing"), "nope.safetensors");
    const e = await rejection(readSafetensors(path));
    expect(e).toBeInstanceOf(SafetensorsError);
    expect(e).toMatchObject({ kind: "io", field: path, received: "ENOENT" });
    expect(() => readSafetensorsSync(path)).toThrow(SafetensorsError);
  });

  test("a corrupt file's error message starts with its path", async () => {
    const dir = tempDir("corrupt");
    const path = join(dir, "bad.safetensors");
    writeFileSync(path, rawSafetensors("{oops"));
    const e = await rejection(readSafetensors(path));
    expect(e).toMatchObject({ kind: "invalid_json" });
    expect(e.message.startsWith(`${path}: `)).toBe(true);
  });
});

describe("SafetensorsReader (lazy per-tensor reads)", () => {
  test("reads each tensor on demand, equal to a whole-file read", async () => {
    const whole = parseSafetensors(readFileSync(fixture));
    const reader = await SafetensorsReader.open(fixture);
    try {
      expect(reader.names).toEqual([...whole.tensors.keys()]);
      expect(reader.header.metadata).toEqual(whole.metadata);
      const reversed = [...reader.names].reverse();
      const read = await Promise.all(reversed.map((n) => reader.read(n)));
      reversed.forEach((n, i) => {
        expect(read[i]).toEqual(whole.tensors.get(n));
      });
      const first = reader.header.tensors[0]!;
      expect((await reader.readBytes(first.name)).length).toBe(first.byteLength);
      expect(reader.has("nope")).toBe(false);
      await expect(reader.read("nope")).rejects.toMatchObject({ kind: "not_found", field: "nope" });
    } finally {
      await reader.close();
    }
    await expect(reader.read(reader.names[0]!)).rejects.toMatchObject({ kind: "io" });
  });

  test("validates the header on open, before reading any data", async () => {
    const dir = tempDir("reader");
    const path = join(dir, "huge.safetensors");
    writeFileSync(path, rawSafetensors("{}", new Uint8Array(0), { headerLength: 2n ** 62n }));
    await expect(SafetensorsReader.open(path)).rejects.toMatchObject({ kind: "header_too_large" });
    writeFileSync(path, rawSafetensors("{}", new Uint8Array(0), { headerLength: 1000n }));
    await expect(SafetensorsReader.open(path)).rejects.toMatchObject({ kind: "truncated" });
    writeFileSync(path, new Uint8Array(3));
    await expect(SafetensorsReader.open(path)).rejects.toMatchObject({ kind: "truncated" });
    await expect(SafetensorsReader.open(join(dir, "absent"))).rejects.toMatchObject({ kind: "io" });
  });
});

describe("atomic writes", () => {
  test("writeSafetensors writes what serializeSafetensors gives, leaving no temp files", async () => {
    const dir = tempDir("write");
    const path = join(dir, "out.safetensors");
    const tensors = { b: t([1, 2, 3, 4], [2, 2]), a: t([5]) };
    await writeSafetensors(path, tensors, { metadata: { format: "pt" } });
    expect(
      Buffer.from(readFileSync(path)).equals(serializeSafetensors(tensors, { metadata: { format: "pt" } })),
    ).toBe(true);
    expect(readdirSync(dir)).toEqual(["out.safetensors"]);
  });

  test("a serialisation that throws midway leaves the old file intact", async () => {
    const dir = tempDir("midway");
    const path = join(dir, "model.safetensors");
    await writeSafetensors(path, { w: t([1, 2]) });
    const before = readFileSync(path);
    let reads = 0;
    const exploding = {
      shape: [2],
      get data(): Float32Array {
        reads++;
        if (reads > 1) throw new Error("disk of tensors on fire"); // the second access: while encoding, after "a"
        return new Float32Array(2);
      },
    };
    await expect(writeSafetensors(path, { a: t([1, 2]), b: exploding })).rejects.toThrow("on fire");
    const bad = { a: t([1, 2, 3], [2]) };
    await expect(writeSafetensors(path, bad)).rejects.toMatchObject({ kind: "size_mismatch" });
    expect(Buffer.from(readFileSync(path)).equals(before)).toBe(true);
    expect(readdirSync(dir)).toEqual(["model.safetensors"]);
  });

  test("writeFileAtomic replaces files and cleans up when the rename fails", async () => {
    const dir = tempDir("atomic");
    const path = join(dir, "f.txt");
    await writeFileAtomic(path, "one");
    await writeFileAtomic(path, new TextEncoder().encode("two"));
    expect(readFileSync(path, "utf8")).toBe("two");
    const target = join(dir, "a-directory");
    mkdirSync(join(target, "child"), { recursive: true });
    await expect(writeFileAtomic(target, "x")).rejects.toThrow();
    expect(readdirSync(dir).sort()).toEqual(["a-directory", "f.txt"]);
    await expect(writeFileAtomic(join(dir, "missing", "f"), "x")).rejects.toMatchObject({ code: "ENOENT" });
    await expect(writeSafetensors(join(dir, "missing", "f"), {})).rejects.toMatchObject({ kind: "io" });
  });
});

describe("SafetensorsWriter (streaming)", () => {
  test("tensors written in any order give the same bytes as serializeSafetensors", async () => {
    const dir = tempDir("stream");
    const path = join(dir, "s.safetensors");
    const tensors = { z: t([1, 2, 3, 4, 5, 6], [2, 3]), a: t([7]), m: t([8, 9]) };
    const writer = await SafetensorsWriter.create(
      path,
      Object.entries(tensors).map(([name, x]) => ({ name, shape: x.shape })),
      { metadata: { format: "pt" } },
    );
    expect(writer.pending.sort()).toEqual(["a", "m", "z"]);
    await writer.write("m", tensors.m);
    await writer.write("z", { data: Float64Array.from(tensors.z.data), shape: [2, 3] });
    await expect(writer.write("m", tensors.m)).rejects.toMatchObject({
      kind: "not_found",
      received: "already written",
    });
    await expect(writer.write("a", t([1, 2]))).rejects.toMatchObject({ kind: "size_mismatch", field: "a" });
    expect(readdirSync(dir)).not.toContain("s.safetensors"); // nothing visible before close()
    await writer.write("a", tensors.a);
    await writer.close();
    const expected = serializeSafetensors(tensors, { metadata: { format: "pt" } });
    expect(Buffer.from(readFileSync(path)).equals(expected)).toBe(true);
    expect(readdirSync(dir)).toEqual(["s.safetensors"]);
  });

  test("close() with tensors missing fails and keeps the old file; F16 streams too", async () => {
    const dir = tempDir("stream-missing");
    const path = join(dir, "s.safetensors");
    writeFileSync(path, "old");
    const writer = await SafetensorsWriter.create(path, [
      { name: "a", shape: [1] },
      { name: "b", shape: [2], dtype: "F16" },
    ]);
    await writer.write("b", t([0.5, -2]));
    await expect(writer.close()).rejects.toMatchObject({ kind: "truncated", field: "a" });
    expect(readFileSync(path, "utf8")).toBe("old");
    expect(readdirSync(dir)).toEqual(["s.safetensors"]);

    const w2 = await SafetensorsWriter.create(path, [{ name: "b", shape: [2], dtype: "F16" }]);
    await w2.write("b", t([0.5, -2]));
    await w2.close();
    const back = await readSafetensors(path);
    expect(back.dtypes.get("b")).toBe("F16");
    expect([...back.tensors.get("b")!.data]).toEqual([0.5, -2]); // exact in F16
  });

  test("a reader-to-writer stream copy (raw bytes, any dtype) reproduces the file byte for byte", async () => {
    const dir = tempDir("copy");
    const source = join(dir, "source.safetensors");
    const ints = new Uint8Array(16).map((_, i) => i);
    // as the Rust crate lays it out: I64 ranks above F32, header padded to 8 bytes
    const json =
      '{"__metadata__":{"format":"pt"},"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"w":{"dtype":"F32","shape":[2,2],"data_offsets":[16,32]}}';
    const header = json.padEnd(Math.ceil(json.length / 8) * 8, " ");
    const data = new Uint8Array([...ints, ...new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer)]);
    writeFileSync(source, rawSafetensors(header, data));
    const reader = await SafetensorsReader.open(source);
    const target = join(dir, "copy.safetensors");
    const writer = await SafetensorsWriter.create(
      target,
      reader.header.tensors.map((x) => ({ name: x.name, shape: x.shape, dtype: x.dtype })),
      reader.header.metadata === null ? {} : { metadata: reader.header.metadata },
    );
    for (const name of reader.names) await writer.writeBytes(name, await reader.readBytes(name));
    await reader.close();
    await expect(writer.write("ids", t([1, 2]))).rejects.toMatchObject({ kind: "not_found" });
    await writer.close();
    expect(Buffer.from(readFileSync(target)).equals(readFileSync(source))).toBe(true);

    const w2 = await SafetensorsWriter.create(join(dir, "x.safetensors"), [
      { name: "ids", shape: [2], dtype: "I64" },
    ]);
    await expect(w2.write("ids", t([1, 2]))).rejects.toMatchObject({ kind: "unsupported_dtype" });
    await expect(w2.writeBytes("ids", new Uint8Array(8))).rejects.toMatchObject({ kind: "size_mismatch" });
    await w2.abort();
  });

  test("abort() discards everything", async () => {
    const dir = tempDir("abort");
    const writer = await SafetensorsWriter.create(join(dir, "x.safetensors"), [{ name: "a", shape: [1] }]);
    await writer.write("a", t([1]));
    await writer.abort();
    await writer.abort();
    expect(readdirSync(dir)).toEqual([]);
  });
});
