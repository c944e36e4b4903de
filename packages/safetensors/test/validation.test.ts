import { describe, expect, test } from "vitest";
import { f32Bytes, rawSafetensors } from "../../../test-support/fixtures";
import {
  decodeTensorBytes,
  parseSafetensors,
  parseSafetensorsHeader,
  SafetensorsError,
  SafetensorsReader,
  serializeSafetensors,
} from "../src/index";

/** Runs `fn` and returns the SafetensorsError it throws (fails the test otherwise). */
function caught(fn: () => unknown): SafetensorsError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SafetensorsError);
    return error as SafetensorsError;
  }
  throw new Error("expected a SafetensorsError, nothing was thrown");
}

const good = { w: { dtype: "F32", shape: [2], data_offsets: [0, 8] } };
const twoFloats = f32Bytes([1, 2]);

describe("parseSafetensorsHeader rejects each kind of bad file, naming field / expected / received", () => {
  test("valid baseline parses", () => {
    const h = parseSafetensorsHeader(rawSafetensors(good, twoFloats));
    expect(h.tensors).toEqual([
      { name: "w", dtype: "F32", shape: [2], byteOffset: h.dataOffset, byteLength: 8 },
    ]);
    expect(h.metadata).toBeNull();
  });

  test("header_too_large: a length above the cap, checked before reading or allocating", () => {
    const e = caught(() =>
      parseSafetensorsHeader(rawSafetensors(good, twoFloats, { headerLength: 2n ** 63n })),
    );
    expect(e).toMatchObject({ kind: "header_too_large", field: "header length", received: `${2n ** 63n}` });
    expect(e.expected).toContain("100000000");
    const small = caught(() =>
      parseSafetensorsHeader(rawSafetensors(good, twoFloats), { maxHeaderBytes: 16 }),
    );
    expect(small).toMatchObject({ kind: "header_too_large", expected: "at most 16 bytes" });
  });

  test("truncated: fewer than 8 bytes, header longer than the file, data cut short", () => {
    expect(caught(() => parseSafetensorsHeader(new Uint8Array(5)))).toMatchObject({
      kind: "truncated",
      field: "header length",
      received: "5 bytes",
    });
    const file = rawSafetensors(good, twoFloats);
    expect(caught(() => parseSafetensorsHeader(file, { fileSize: 8 }))).toMatchObject({ kind: "truncated" });
    const long = rawSafetensors(good, twoFloats, { headerLength: 4096n });
    expect(caught(() => parseSafetensorsHeader(long))).toMatchObject({
      kind: "truncated",
      received: `a file of ${long.length} bytes`,
    });
    const cut = file.subarray(0, file.length - 3);
    expect(caught(() => parseSafetensorsHeader(cut))).toMatchObject({
      kind: "truncated",
      field: "w",
      expected: "8 bytes of tensor data after the header",
      received: "5 bytes",
    });
  });

  test("invalid_json: bad UTF-8 and bad JSON", () => {
    const bad = rawSafetensors("{}");
    bad[8] = 0xff;
    expect(caught(() => parseSafetensorsHeader(bad))).toMatchObject({
      kind: "invalid_json",
      received: "invalid UTF-8 bytes",
    });
    expect(caught(() => parseSafetensorsHeader(rawSafetensors('{"w": ')))).toMatchObject({
      kind: "invalid_json",
      field: "header",
      expected: "a JSON object",
    });
  });

  test("invalid_header: not an object, entry not an object, bad shape, bad metadata", () => {
    expect(caught(() => parseSafetensorsHeader(rawSafetensors("[1,2]")))).toMatchObject({
      kind: "invalid_header",
      field: "header",
      received: "array [1, 2]",
    });
    expect(caught(() => parseSafetensorsHeader(rawSafetensors({ w: 3 })))).toMatchObject({
      kind: "invalid_header",
      field: "w",
      received: "number 3",
    });
    const badShape = { w: { dtype: "F32", shape: [2, -1], data_offsets: [0, 8] } };
    expect(caught(() => parseSafetensorsHeader(rawSafetensors(badShape, twoFloats)))).toMatchObject({
      kind: "invalid_header",
      field: "w",
      expected: "shape as an array of integers >= 0",
      received: "array [2, -1]",
    });
    const fracShape = { w: { dtype: "F32", shape: [1.5], data_offsets: [0, 8] } };
    expect(caught(() => parseSafetensorsHeader(rawSafetensors(fracShape, twoFloats))).kind).toBe(
      "invalid_header",
    );
    const meta = { __metadata__: { format: 1 }, ...good };
    expect(caught(() => parseSafetensorsHeader(rawSafetensors(meta, twoFloats)))).toMatchObject({
      kind: "invalid_header",
      field: "__metadata__.format",
      expected: "a string value",
      received: "number 1",
    });
    const noDtype = { w: { shape: [2], data_offsets: [0, 8] } };
    expect(caught(() => parseSafetensorsHeader(rawSafetensors(noDtype, twoFloats)))).toMatchObject({
      kind: "invalid_header",
      expected: "dtype as a string",
    });
  });

  test("deeply nested JSON (10,000 levels, a 20 KB file) is a typed error, from every reader", async () => {
    const deep = `{"t":${"[".repeat(10_000)}${"]".repeat(10_000)}}`;
    const file = rawSafetensors(deep);
    expect(file.length).toBeGreaterThan(20_000);
    const e = caught(() => parseSafetensorsHeader(file));
    expect(e).toMatchObject({ kind: "invalid_header", field: "header" });
    expect(e.expected).toContain("nested at most 64 levels");
    expect(caught(() => parseSafetensors(file)).kind).toBe("invalid_header");
    await expect(SafetensorsReader.open(new Blob([file]))).rejects.toMatchObject({ kind: "invalid_header" });
    // objects too, and deep values under __metadata__ or inside an entry
    const objects = `{"t":${'{"a":'.repeat(5000)}1${"}".repeat(5000)}}`;
    expect(caught(() => parseSafetensorsHeader(rawSafetensors(objects))).kind).toBe("invalid_header");
    const inShape = `{"w":{"dtype":"F32","shape":${"[".repeat(3000)}${"]".repeat(3000)},"data_offsets":[0,8]}}`;
    expect(caught(() => parseSafetensorsHeader(rawSafetensors(inShape, twoFloats))).kind).toBe(
      "invalid_header",
    );
    // at the limit the nesting itself is accepted and the entry is refused for what it is
    const atLimit = `{"t":${"[".repeat(63)}${"]".repeat(63)}}`;
    expect(caught(() => parseSafetensorsHeader(rawSafetensors(atLimit)))).toMatchObject({
      kind: "invalid_header",
      field: "t",
      expected: "an object {dtype, shape, data_offsets}",
    });
  });

  test("duplicate keys: a tensor name, __metadata__, or a field twice is refused, not last-one-wins", () => {
    const w = '{"dtype":"F32","shape":[2],"data_offsets":[0,8]}';
    expect(
      caught(() => parseSafetensorsHeader(rawSafetensors(`{"w":${w},"w":${w}}`, twoFloats))),
    ).toMatchObject({ kind: "invalid_header", field: "w", received: "'w' twice" });
    // the same name spelled with an escape is the same key
    expect(
      caught(() => parseSafetensorsHeader(rawSafetensors(`{"w":${w},"\u0077":${w}}`, twoFloats))),
    ).toMatchObject({ kind: "invalid_header", field: "w" });
    const twoMeta = `{"__metadata__":{"a":"1"},"w":${w},"__metadata__":{"a":"2"}}`;
    expect(caught(() => parseSafetensorsHeader(rawSafetensors(twoMeta, twoFloats)))).toMatchObject({
      kind: "invalid_header",
      field: "__metadata__",
    });
    const twoDtypes = `{"w":{"dtype":"I64","dtype":"F32","shape":[2],"data_offsets":[0,8]}}`;
    expect(caught(() => parseSafetensorsHeader(rawSafetensors(twoDtypes, twoFloats)))).toMatchObject({
      kind: "invalid_header",
      field: "w.dtype",
    });
    const metaKey = `{"__metadata__":{"k":"1","k":"2"},"w":${w}}`;
    expect(caught(() => parseSafetensorsHeader(rawSafetensors(metaKey, twoFloats)))).toMatchObject({
      kind: "invalid_header",
      field: "__metadata__.k",
    });
    // different keys that only look alike, and repeated values, are fine
    const fine = `{"__metadata__":{"w":"w","k":"w"},"w":${w},"w ":{"dtype":"F32","shape":[0],"data_offsets":[8,8]}}`;
    expect(parseSafetensorsHeader(rawSafetensors(fine, twoFloats)).tensors.map((t) => t.name)).toEqual([
      "w",
      "w ",
    ]);
  });

  test("unknown_dtype", () => {
    const h = { w: { dtype: "F128", shape: [2], data_offsets: [0, 8] } };
    expect(caught(() => parseSafetensorsHeader(rawSafetensors(h, twoFloats)))).toMatchObject({
      kind: "unknown_dtype",
      field: "w",
      received: "F128",
    });
  });

  test("bad_offsets: begin > end, non-integers, gaps, beyond 2^53", () => {
    const rev = { w: { dtype: "F32", shape: [0], data_offsets: [8, 0] } };
    expect(caught(() => parseSafetensorsHeader(rawSafetensors(rev, twoFloats)))).toMatchObject({
      kind: "bad_offsets",
      field: "w",
      received: "[8, 0]",
    });
    const huge = `{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551616]}}`;
    expect(caught(() => parseSafetensorsHeader(rawSafetensors(huge, twoFloats))).kind).toBe("bad_offsets");
    const gap = { w: { dtype: "F32", shape: [1], data_offsets: [4, 8] } };
    expect(caught(() => parseSafetensorsHeader(rawSafetensors(gap, twoFloats)))).toMatchObject({
      kind: "bad_offsets",
      field: "w",
      expected: "data starting at byte 0 (contiguous, no gaps)",
    });
    const three = { w: { dtype: "F32", shape: [2], data_offsets: [0, "8"] } };
    expect(caught(() => parseSafetensorsHeader(rawSafetensors(three, twoFloats))).kind).toBe("bad_offsets");
  });

  test("overlap: two tensors sharing bytes", () => {
    const h = {
      a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
      b: { dtype: "F32", shape: [1], data_offsets: [4, 8] },
    };
    expect(caught(() => parseSafetensorsHeader(rawSafetensors(h, twoFloats)))).toMatchObject({
      kind: "overlap",
      field: "b",
      received: "data_offsets [4, 8]",
    });
  });

  test("size_mismatch: shape × dtype ≠ byte length, trailing bytes, sub-byte remainders", () => {
    const h = { w: { dtype: "F32", shape: [3], data_offsets: [0, 8] } };
    expect(caught(() => parseSafetensorsHeader(rawSafetensors(h, twoFloats)))).toMatchObject({
      kind: "size_mismatch",
      field: "w",
      expected: "12 bytes (shape [3] × F32)",
      received: "8 bytes (data_offsets [0, 8])",
    });
    const trailing = rawSafetensors(good, new Uint8Array([...twoFloats, 0, 0]));
    expect(caught(() => parseSafetensorsHeader(trailing))).toMatchObject({
      kind: "size_mismatch",
      field: "data section",
      received: "10 bytes",
    });
    const f4 = { q: { dtype: "F4", shape: [3], data_offsets: [0, 2] } };
    expect(caught(() => parseSafetensorsHeader(rawSafetensors(f4, new Uint8Array(2)))).kind).toBe(
      "size_mismatch",
    );
    const overflow = { w: { dtype: "F32", shape: [2 ** 40, 2 ** 40], data_offsets: [0, 8] } };
    expect(caught(() => parseSafetensorsHeader(rawSafetensors(overflow, twoFloats))).kind).toBe(
      "size_mismatch",
    );
  });

  test("every defined dtype is known and validated by size", () => {
    const sizes: Record<string, number> = { BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1, F8_E8M0: 1 };
    Object.assign(sizes, {
      I16: 2,
      U16: 2,
      F16: 2,
      BF16: 2,
      I32: 4,
      U32: 4,
      F32: 4,
      F64: 8,
      I64: 8,
      U64: 8,
      C64: 8,
    });
    for (const [dtype, size] of Object.entries(sizes)) {
      const file = rawSafetensors(
        { t: { dtype, shape: [2], data_offsets: [0, 2 * size] } },
        new Uint8Array(2 * size),
      );
      expect(parseSafetensorsHeader(file).tensors[0]!.dtype).toBe(dtype);
    }
    const f6 = rawSafetensors(
      { t: { dtype: "F6_E2M3", shape: [4], data_offsets: [0, 3] } },
      new Uint8Array(3),
    );
    expect(parseSafetensorsHeader(f6).tensors[0]!.byteLength).toBe(3);
  });

  test("unsupported_dtype: integer tensors are valid but do not decode to floats", () => {
    const file = rawSafetensors({ t: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8));
    expect(caught(() => parseSafetensors(file))).toMatchObject({
      kind: "unsupported_dtype",
      field: "t",
      received: "I64",
    });
    const skipped = parseSafetensors(file, { unsupported: "skip" });
    expect(skipped.tensors.size).toBe(0);
    expect(skipped.dtypes.get("t")).toBe("I64");
    expect(caught(() => decodeTensorBytes("x", "U8", [1], new Uint8Array(1))).kind).toBe("unsupported_dtype");
  });

  test("header with trailing spaces, metadata and tensors in any header order", () => {
    const header = `{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}   `;
    const parsed = parseSafetensors(rawSafetensors(header, twoFloats));
    expect([...parsed.tensors.keys()]).toEqual(["a", "b"]); // file (data) order
    expect(parsed.metadata).toEqual({ k: "v" });
    expect(parsed.tensors.get("b")!.data[0]).toBe(2);
  });
});

describe("serializeSafetensors rejects what it cannot write", () => {
  test("shape/data mismatch, bad shapes, reserved names, non-float dtypes", () => {
    expect(
      caught(() => serializeSafetensors({ w: { data: new Float32Array(3), shape: [2, 2] } })),
    ).toMatchObject({
      kind: "size_mismatch",
      field: "w",
      expected: "4 values for shape [2, 2]",
      received: "3 values",
    });
    expect(caught(() => serializeSafetensors({ w: { data: new Float32Array(0), shape: [-1] } })).kind).toBe(
      "invalid_header",
    );
    expect(
      caught(() => serializeSafetensors({ __metadata__: { data: new Float32Array(1), shape: [1] } })).kind,
    ).toBe("invalid_header");
    const wrong = { dtype: "I32" } as unknown as { dtype: "F32" };
    expect(
      caught(() => serializeSafetensors({ w: { data: new Float32Array(1), shape: [1] } }, wrong)),
    ).toMatchObject({
      kind: "unsupported_dtype",
      received: "I32",
    });
  });
});
