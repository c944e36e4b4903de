import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { tempDir } from "../../../test-support/fixtures";
import {
  decodeTensorBytes,
  encodeTensorData,
  SafetensorsError,
  SafetensorsReader,
  SafetensorsWriter,
  serializeSafetensors,
} from "../src/index";

const seq = (n: number, k = 1): Float32Array =>
  Float32Array.from({ length: n }, (_, i) => (i - n / 2) * k * 0.25);
const tensors = { big: { data: seq(1000), shape: [10, 100] }, small: { data: seq(6, 3), shape: [2, 3] } };

describe("buffers given by the caller (no allocation per tensor)", () => {
  test("readBytesInto reads any byte range of a tensor into the caller's buffer, and refuses one outside it", async () => {
    const dir = tempDir("reuse-read");
    const path = join(dir, "t.safetensors");
    await SafetensorsWriter.create(path, [{ name: "big", shape: [10, 100] }]).then(async (w) => {
      await w.write("big", tensors.big);
      await w.close();
    });
    const r = await SafetensorsReader.open(path);
    try {
      const whole = await r.readBytes("big");
      const part = new Uint8Array(40);
      expect(await r.readBytesInto("big", part, 400)).toBe(part);
      expect(part).toEqual(whole.subarray(400, 440));
      await expect(r.readBytesInto("big", new Uint8Array(8), 3996)).rejects.toMatchObject({
        kind: "size_mismatch",
      });
      await expect(r.readBytesInto("big", part, -1)).rejects.toBeInstanceOf(SafetensorsError);
    } finally {
      await r.close();
    }
  });

  test("decode / encode into a reused, longer buffer give the same values as fresh arrays", () => {
    const out = new Float32Array(1200).fill(Number.NaN);
    for (const dtype of ["F32", "F16", "BF16", "F64"] as const) {
      const bytes = encodeTensorData(dtype, tensors.big.data);
      const into = new Uint8Array(bytes.length + 16).fill(0xff);
      expect(encodeTensorData(dtype, tensors.big.data, into)).toEqual(bytes);
      const fresh = decodeTensorBytes("big", dtype, [10, 100], bytes);
      const reused = decodeTensorBytes("big", dtype, [10, 100], bytes, out);
      expect(reused.data.buffer).toBe(out.buffer);
      expect(reused.data).toEqual(fresh.data);
    }
    expect(() => encodeTensorData("F32", tensors.big.data, new Uint8Array(10))).toThrow(SafetensorsError);
  });
});

describe("writeBytesAt: a tensor written in parts", () => {
  test("parts in order, several in flight, then flush() and close(): the same bytes as serializeSafetensors", async () => {
    const dir = tempDir("chunks");
    const path = join(dir, "t.safetensors");
    const w = await SafetensorsWriter.create(path, [
      { name: "big", shape: [10, 100] },
      { name: "small", shape: [2, 3] },
    ]);
    const raw = encodeTensorData("F32", tensors.big.data);
    const parts = [0, 1000, 2400, 4000];
    const writes = parts
      .slice(0, -1)
      .map((start, i) => w.writeBytesAt("big", raw.subarray(start, parts[i + 1]), start));
    expect(w.pending).toEqual(["small"]); // the last part is issued: "big" counts as written
    writes.push(w.write("small", tensors.small));
    await Promise.all(writes);
    await w.flush();
    expect(readdirSync(dir)).not.toContain("t.safetensors"); // flushed, not yet renamed
    await w.close();
    expect(new Uint8Array(readFileSync(path))).toEqual(serializeSafetensors(tensors));
  });

  test("a part out of order or past the end is refused (size_mismatch); an unfinished tensor fails close()", async () => {
    const dir = tempDir("chunks-bad");
    const path = join(dir, "t.safetensors");
    const w = await SafetensorsWriter.create(path, [{ name: "big", shape: [10, 100] }]);
    await expect(w.writeBytesAt("big", new Uint8Array(8), 8)).rejects.toMatchObject({
      kind: "size_mismatch",
    });
    await w.writeBytesAt("big", new Uint8Array(8), 0);
    await expect(w.writeBytesAt("big", new Uint8Array(4000), 8)).rejects.toMatchObject({
      kind: "size_mismatch",
    });
    await expect(w.close()).rejects.toMatchObject({ kind: "truncated" });
    expect(readdirSync(dir)).toEqual([]);
  });
});
