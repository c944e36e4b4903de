import { readFileSync } from "node:fs";
import { relative } from "node:path";
import {
  decodeBF16 as decodeBFloat16,
  decodeF16 as decodeFloat16,
  encodeBF16 as encodeBFloat16,
  encodeF16 as encodeFloat16,
} from "@lycoris-ts/kernels";
import { f16round, getFloat16, setFloat16 } from "@petamoriken/float16";
import { describe, expect, test } from "vitest";
import { FIXTURES, findSafetensorsFiles, rawSafetensors } from "../../../test-support/fixtures";
import { seededRandom } from "../fuzz/mutations.mjs";
import {
  type FloatDtype,
  isFloatDtype,
  parseSafetensors,
  parseSafetensorsHeader,
  serializeSafetensors,
} from "../src/index";

const allFiles = findSafetensorsFiles();
/** Files holding integer tensors (PEFT LoRA's embedding token ids), which the float serializer does not write. */
const integerFiles = allFiles.filter((f) =>
  parseSafetensorsHeader(readFileSync(f)).tensors.some((t) => !isFloatDtype(t.dtype)),
);
const files = allFiles.filter((f) => !integerFiles.includes(f));

/** Independent bf16 rounding of a float32: 8 significant bits, ties to even, in float64 math. */
function bf16Round(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  let e = Math.floor(Math.log2(Math.abs(x)));
  if (2 ** e > Math.abs(x)) e--; // guard against log2 rounding up just below a power of two
  e = Math.max(e, -126);
  const ulp = 2 ** (e - 7);
  const q = x / ulp;
  const fl = Math.floor(q);
  const diff = q - fl;
  const n = diff > 0.5 || (diff === 0.5 && fl % 2 !== 0) ? fl + 1 : fl;
  const r = n * ulp;
  return Math.abs(r) >= 2 ** 128 ? Math.sign(r) * Infinity : r;
}

describe("every fixture safetensors file", () => {
  test("the fixture set is present", () => {
    // 255 files at the time of writing; a much smaller count means the fixtures moved.
    expect(files.length).toBeGreaterThan(200);
  });

  test("only embedding inputs (int64 token ids) are left out", () => {
    expect(integerFiles.map((f) => relative(FIXTURES, f))).toEqual([
      "peft-lora/lora-embedding/inputs.safetensors",
      "peft-lora/lora-mixed-kinds/inputs.safetensors",
    ]);
    for (const f of integerFiles) {
      const dtypes = parseSafetensorsHeader(readFileSync(f)).tensors.map((t) => t.dtype);
      expect(new Set(dtypes.filter((d) => !isFloatDtype(d)))).toEqual(new Set(["I64"]));
    }
  });

  test.each(files.map((f) => [relative(FIXTURES, f), f]))("%s re-serialises byte for byte", (_name, path) => {
    const bytes = readFileSync(path);
    const parsed = parseSafetensors(bytes);
    const header = parseSafetensorsHeader(bytes);
    const dtypes = new Map([...parsed.dtypes].map(([k, v]) => [k, v as FloatDtype]));
    const again = serializeSafetensors(parsed.tensors, {
      ...(parsed.metadata === null ? {} : { metadata: parsed.metadata }),
      dtypes,
    });
    // The fixtures were written by the Rust safetensors crate (PEFT, torch): identical bytes
    // prove the same tensor order, header JSON and padding.
    expect(Buffer.from(again).equals(bytes)).toBe(true);

    const reread = parseSafetensors(again);
    expect([...reread.tensors.keys()]).toEqual([...parsed.tensors.keys()]);
    expect(reread.metadata).toEqual(parsed.metadata);
    expect(reread.dtypes).toEqual(parsed.dtypes);
    for (const info of header.tensors) {
      const t = reread.tensors.get(info.name)!;
      expect(t.shape).toEqual(info.shape);
      // Exact: F32 -> F32 must preserve every bit (NaN payloads included).
      const stored = new Uint8Array(bytes.buffer, bytes.byteOffset + info.byteOffset, info.byteLength);
      expect(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(stored)).toBe(true);
    }
  });
});

describe("F16 / BF16 / F64", () => {
  test("F16 decodes every one of the 65536 bit patterns exactly", () => {
    const all = new Uint8Array(65536 * 2);
    const view = new DataView(all.buffer);
    for (let h = 0; h < 65536; h++) view.setUint16(2 * h, h, true);
    const decoded = decodeFloat16(all);
    for (let h = 0; h < 65536; h++) {
      // Exact: every half is a float32; the independent decoder is @petamoriken/float16.
      const ref = getFloat16(view, 2 * h, true);
      if (Number.isNaN(ref)) expect(Number.isNaN(decoded[h]!)).toBe(true);
      else expect(Object.is(decoded[h], ref)).toBe(true);
    }
  });

  test("F16 decodes known values", () => {
    const bits = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x0400, 0x7c00, 0xfc00, 0x8000, 0x3555];
    const want = [1, -2, 65504, 2 ** -24, 2 ** -14, Infinity, -Infinity, -0, 0.333251953125];
    const bytes = new Uint8Array(bits.length * 2);
    bits.forEach((b, i) => {
      new DataView(bytes.buffer).setUint16(2 * i, b, true);
    });
    const got = decodeFloat16(bytes);
    // exact
    want.forEach((w, i) => {
      expect(Object.is(got[i], w)).toBe(true);
    });
    expect(Number.isNaN(decodeFloat16(new Uint8Array([0x01, 0x7e]))[0])).toBe(true);
  });

  test("F16 encoding rounds to nearest even like a reference encoder", () => {
    const rand = seededRandom(7);
    const values = new Float32Array(20000);
    for (let i = 0; i < values.length; i++) {
      // wide exponent range: subnormals, normals, overflow; plus exact halfway cases
      const e = Math.floor(rand() * 40) - 28;
      values[i] = (rand() < 0.5 ? -1 : 1) * rand() * 2 ** e;
    }
    values.set(
      [65504, 65519.99, 65520, 2 ** -25, 2 ** -25 * 1.0001, 2 ** -26, 1 + 2 ** -11, 1 + 3 * 2 ** -11],
      0,
    );
    const encoded = encodeFloat16(values);
    const decoded = decodeFloat16(encoded);
    const ref = new DataView(new ArrayBuffer(2));
    for (let i = 0; i < values.length; i++) {
      // Exact: the encoding must be the correctly rounded half (reference: f16round / setFloat16).
      setFloat16(ref, 0, values[i]!, true);
      expect(new DataView(encoded.buffer, encoded.byteOffset).getUint16(2 * i, true)).toBe(
        ref.getUint16(0, true),
      );
      expect(Object.is(decoded[i], f16round(values[i]!))).toBe(true);
    }
  });

  test("BF16 decodes known values and rounds to nearest even", () => {
    const bytes = new Uint8Array([0x80, 0x3f, 0x49, 0x40, 0x80, 0xff, 0x00, 0x80]);
    const got = decodeBFloat16(bytes);
    // Exact: bf16 is the upper half of a float32.
    expect([...got]).toEqual([1, 3.140625, -Infinity, -0]);
    const values = new Float32Array([
      1 + 2 ** -8,
      1 + 3 * 2 ** -8,
      1 + 2 ** -8 + 2 ** -20,
      3.4e38,
      Number.NaN,
    ]);
    const round = decodeBFloat16(encodeBFloat16(values));
    // ties to even: 1+2^-8 -> 1; 1+3·2^-8 -> 1+2^-6; just above the tie rounds up; huge -> inf
    expect([...round.subarray(0, 4)]).toEqual([1, 1 + 2 ** -6, 1 + 2 ** -7, Infinity]);
    expect(Number.isNaN(round[4])).toBe(true);
  });

  test.each(["F16", "BF16", "F64"] as const)(
    "a fixture written as %s re-reads within that dtype's rounding",
    (dtype) => {
      const path = files.find((f) => f.endsWith("lokr-linear-factor-4/base.safetensors")) ?? files[0]!;
      const source = parseSafetensors(readFileSync(path));
      const bytes = serializeSafetensors(source.tensors, { dtype, metadata: { format: "pt" } });
      const back = parseSafetensors(bytes);
      expect([...back.dtypes.values()].every((d) => d === dtype)).toBe(true);
      expect(back.metadata).toEqual({ format: "pt" });
      for (const [name, t] of source.tensors) {
        const r = back.tensors.get(name)!;
        expect(r.shape).toEqual(t.shape);
        for (let i = 0; i < t.data.length; i++) {
          const x = t.data[i]!;
          // Exact per dtype: F64 holds a float32 exactly; F16 must equal the correctly rounded
          // half; BF16 must equal the correctly rounded 8-significant-bit value (bf16Round).
          if (dtype === "F64") expect(r.data[i]).toBe(x);
          else if (dtype === "F16") expect(Object.is(r.data[i], f16round(x))).toBe(true);
          else expect(Object.is(r.data[i], bf16Round(x))).toBe(true);
        }
      }
    },
  );

  test("F64 values decode to the nearest float32", () => {
    const data = new Uint8Array(16);
    const view = new DataView(data.buffer);
    view.setFloat64(0, Math.PI, true);
    view.setFloat64(8, -1e300, true);
    const file = rawSafetensors({ x: { dtype: "F64", shape: [2], data_offsets: [0, 16] } }, data);
    const t = parseSafetensors(file).tensors.get("x")!;
    // Exact: Float32Array assignment rounds to nearest; 1e300 overflows float32 to -inf.
    expect([...t.data]).toEqual([Math.fround(Math.PI), -Infinity]);
  });

  test("0-d tensors, empty tensors and empty files round-trip", () => {
    const tensors = new Map([
      ["alpha", { data: new Float32Array([4]), shape: [] }],
      ["empty", { data: new Float32Array(0), shape: [0, 3] }],
      ["w", { data: Float64Array.from([1.5, -2]), shape: [2, 1] }],
    ]);
    const back = parseSafetensors(serializeSafetensors(tensors));
    expect(back.tensors.get("alpha")).toEqual({ data: new Float32Array([4]), shape: [] });
    expect(back.tensors.get("empty")).toEqual({ data: new Float32Array(0), shape: [0, 3] });
    expect(back.tensors.get("w")).toEqual({ data: new Float32Array([1.5, -2]), shape: [2, 1] });
    // Same bytes the Rust crate's own test expects for an empty dict: "{}" padded with 6 spaces.
    expect([...serializeSafetensors({})]).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
  });

  test("the writer orders by dtype alignment then name, and pads the header to 8 bytes", () => {
    const t = (v: number[]) => ({ data: Float32Array.from(v), shape: [v.length] });
    const bytes = serializeSafetensors(
      { b: t([1]), a: t([2, 3]), é: t([4]), z: t([5]) },
      {
        dtypes: new Map<string, FloatDtype>([
          ["z", "F16"],
          ["a", "F64"],
        ]),
      },
    );
    const header = parseSafetensorsHeader(bytes);
    expect(header.tensors.map((x) => x.name)).toEqual(["a", "b", "é", "z"]);
    expect(header.dataOffset % 8).toBe(0);
    expect(parseSafetensors(bytes).tensors.get("é")!.data).toEqual(new Float32Array([4]));
  });
});
