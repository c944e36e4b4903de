import { describe, expect, it } from "vitest";
import {
  decodeBF16,
  decodeF16,
  encodeBF16,
  encodeF16,
  KernelsError,
  numel,
  permute,
  reshape,
  tensor,
  toFloat32,
  toFloat64,
  zeros,
  zeros64,
} from "../src/index";

describe("tensor helpers", () => {
  it("validates the element count", () => {
    expect(() => tensor(new Float32Array(5), [2, 3])).toThrow(KernelsError);
    expect(tensor(new Float32Array(6), [2, 3]).shape).toEqual([2, 3]);
    expect(numel([])).toBe(1);
    expect(numel([4, 0, 2])).toBe(0);
    expect(() => numel([2, -1])).toThrow(KernelsError);
  });

  it("zeros/zeros64 allocate the right array types", () => {
    expect(zeros([2, 2]).data).toBeInstanceOf(Float32Array);
    expect(zeros64([3]).data).toBeInstanceOf(Float64Array);
  });

  it("reshape shares data, permute copies like torch.permute", () => {
    const t = tensor(
      Float32Array.from({ length: 24 }, (_, i) => i),
      [2, 3, 4],
    );
    const r = reshape(t, [6, 4]);
    expect(r.data).toBe(t.data);
    expect(() => reshape(t, [5, 5])).toThrow(KernelsError);
    const p = permute(t, [2, 0, 1]);
    expect(p.shape).toEqual([4, 2, 3]);
    // exact: p[k, i, j] = t[i, j, k]
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++)
        for (let k = 0; k < 4; k++) expect(p.data[(k * 2 + i) * 3 + j]).toBe(t.data[(i * 3 + j) * 4 + k]);
    expect(() => permute(t, [0, 0, 1])).toThrow(KernelsError);
  });

  it("converts between float32 and float64", () => {
    const t = tensor(Float64Array.of(0.1, 2), [2]);
    const f = toFloat32(t);
    expect(f.data).toBeInstanceOf(Float32Array);
    expect(f.data[0]).toBe(Math.fround(0.1));
    expect(toFloat64(f).data[0]).toBe(Math.fround(0.1));
  });
});

describe("F16 / BF16 codecs", () => {
  function le(...halves: number[]): Uint8Array {
    const out = new Uint8Array(halves.length * 2);
    halves.forEach((h, i) => {
      out[2 * i] = h & 0xff;
      out[2 * i + 1] = h >> 8;
    });
    return out;
  }

  it("decodes known F16 bit patterns exactly", () => {
    const v = decodeF16(le(0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0xfc00, 0x8000, 0x3555));
    expect([...v.slice(0, 7)]).toEqual([1, -2, 65504, 2 ** -24, Infinity, -Infinity, -0]);
    expect(v[7]).toBe(Math.fround(0.333251953125));
    expect(Number.isNaN(decodeF16(le(0x7e00))[0])).toBe(true);
  });

  it("round-trips every finite F16 value (exact)", () => {
    const all = new Uint8Array(65536 * 2);
    for (let h = 0; h < 65536; h++) {
      all[2 * h] = h & 0xff;
      all[2 * h + 1] = h >> 8;
    }
    const decoded = decodeF16(all);
    const back = encodeF16(decoded);
    const mismatches: number[] = [];
    for (let h = 0; h < 65536; h++) {
      if ((h & 0x7c00) === 0x7c00 && h & 0x3ff) continue; // NaN payloads are not preserved
      if ((back[2 * h]! | (back[2 * h + 1]! << 8)) !== h) mismatches.push(h);
    }
    expect(mismatches).toEqual([]);
  });

  it("rounds to nearest even when encoding F16", () => {
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to the even mantissa (1.0).
    const bytes = encodeF16(Float32Array.of(1 + 2 ** -11, 1 + 3 * 2 ** -11, 70000));
    expect([...decodeF16(bytes)]).toEqual([1, 1 + 2 ** -9, Infinity]);
  });

  it("decodes and rounds BF16", () => {
    expect([...decodeBF16(le(0x3f80, 0xc040, 0x3eab))]).toEqual([1, -3, Math.fround(0.333984375)]);
    const bytes = encodeBF16(Float32Array.of(1 + 2 ** -8, 1 + 3 * 2 ** -8, Number.NaN));
    const back = decodeBF16(bytes);
    expect(back[0]).toBe(1);
    expect(back[1]).toBe(1 + 2 ** -6);
    expect(Number.isNaN(back[2])).toBe(true);
    expect(() => decodeBF16(new Uint8Array(3))).toThrow(RangeError);
  });
});
