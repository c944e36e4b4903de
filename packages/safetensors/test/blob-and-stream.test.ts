import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { describe, expect, test } from "vitest";
import { FIXTURES, findSafetensorsFiles, rawSafetensors } from "../../../test-support/fixtures";
import {
  parseSafetensors,
  readSafetensors,
  SafetensorsError,
  SafetensorsReader,
  SafetensorsWriter,
  serializeSafetensors,
  writeSafetensors,
} from "../src/index";

/**
 * The browser paths, run in Node (which has the same global `Blob`, `File` and `WritableStream`):
 * incremental reads through `Blob.slice().arrayBuffer()` and writes to a `WritableStream`, checked
 * against the path reader and `serializeSafetensors` on the repository's fixture files.
 */

const files = findSafetensorsFiles();

const t = (values: number[], shape: number[] = [values.length]) => ({
  data: Float32Array.from(values),
  shape,
});

const bytesOf = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

/** A WritableStream that collects what it is given, and the bytes joined. */
function collector(): { stream: WritableStream<Uint8Array>; bytes: () => Uint8Array; state: string[] } {
  const chunks: Uint8Array[] = [];
  const state: string[] = [];
  const stream = new WritableStream<Uint8Array>({
    write(chunk) {
      chunks.push(chunk.slice());
    },
    close() {
      state.push("closed");
    },
    abort() {
      state.push("aborted");
    },
  });
  const bytes = () => {
    const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  };
  return { stream, bytes, state };
}

describe("SafetensorsReader over a Blob", () => {
  test.each(files.map((f) => [relative(FIXTURES, f), f]))(
    "%s: same header and tensors as the path reader",
    async (_name, path) => {
      const fromPath = await SafetensorsReader.open(path);
      const fromBlob = await SafetensorsReader.open(new Blob([readFileSync(path)]));
      try {
        expect(fromBlob.header).toEqual(fromPath.header);
        expect(fromBlob.path).toBe("<blob>");
        for (const info of fromPath.header.tensors) {
          const raw = await fromBlob.readBytes(info.name);
          expect(sameBytes(raw, await fromPath.readBytes(info.name))).toBe(true);
          if (["F32", "F16", "BF16", "F64"].includes(info.dtype)) {
            const a = await fromBlob.read(info.name);
            const b = await fromPath.read(info.name);
            expect(a.shape).toEqual(b.shape);
            expect(sameBytes(bytesOf(a.data), bytesOf(b.data))).toBe(true); // bit for bit, NaNs included
          }
        }
      } finally {
        await fromPath.close();
        await fromBlob.close();
      }
    },
  );

  test("readSafetensors takes a File too, and a corrupt File's error names it", async () => {
    const path = files.find((f) => f.endsWith("lokr-multi-adapter/base.safetensors"))!;
    const bytes = readFileSync(path);
    const file = new File([bytes], "base.safetensors");
    expect(await readSafetensors(file)).toEqual(parseSafetensors(bytes));

    const bad = new File([rawSafetensors("{oops")], "bad.safetensors");
    const error = await readSafetensors(bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SafetensorsError);
    expect(error).toMatchObject({ kind: "invalid_json" });
    expect((error as Error).message.startsWith("bad.safetensors: ")).toBe(true);
    await expect(SafetensorsReader.open(bad)).rejects.toMatchObject({ kind: "invalid_json" });
    const huge = new File([rawSafetensors("{}", new Uint8Array(0), { headerLength: 2n ** 62n })], "h");
    await expect(SafetensorsReader.open(huge)).rejects.toMatchObject({ kind: "header_too_large" });
    await expect(SafetensorsReader.open(new Blob([new Uint8Array(3)]))).rejects.toMatchObject({
      kind: "truncated",
    });
  });
});

describe("writing to a WritableStream", () => {
  const tensors = { z: t([1, 2, 3, 4, 5, 6], [2, 3]), a: t([7]), m: t([8, 9]), e: t([], [0]) };
  const expected = serializeSafetensors(tensors, { metadata: { format: "pt" } });

  test("SafetensorsWriter gives serializeSafetensors' bytes, tensors in any order", async () => {
    for (const order of [
      ["z", "m", "e", "a"],
      ["a", "e", "m", "z"],
    ] as const) {
      const out = collector();
      const writer = await SafetensorsWriter.create(
        out.stream,
        Object.entries(tensors).map(([name, x]) => ({ name, shape: x.shape })),
        { metadata: { format: "pt" } },
      );
      expect(writer.path).toBe("<stream>");
      for (const name of order) await writer.write(name, tensors[name]);
      await writer.close();
      expect(out.bytes()).toEqual(expected);
      expect(out.state).toEqual(["closed"]);
    }
  });

  test("writeSafetensors to a stream; abort() and failed writes abort the stream", async () => {
    const out = collector();
    await writeSafetensors(out.stream, tensors, { metadata: { format: "pt" } });
    expect(out.bytes()).toEqual(expected);

    const aborted = collector();
    const writer = await SafetensorsWriter.create(aborted.stream, [{ name: "a", shape: [1] }]);
    await expect(writer.close()).rejects.toMatchObject({ kind: "truncated", field: "a" });
    expect(aborted.state).toEqual(["aborted"]);

    const failing = new WritableStream<Uint8Array>({
      write() {
        throw new Error("sink full");
      },
    });
    await expect(writeSafetensors(failing, tensors)).rejects.toMatchObject({
      kind: "io",
      field: "<stream>",
      received: "sink full",
    });
    const untouched = collector();
    await expect(writeSafetensors(untouched.stream, { a: t([1, 2], [3]) })).rejects.toMatchObject({
      kind: "size_mismatch",
    });
    expect(untouched.bytes().length).toBe(0);
  });
});
