import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Tensor } from "@lycoris-ts/kernels";
import { type FloatDtype, SafetensorsReader, writeSafetensors } from "@lycoris-ts/safetensors";
import { afterAll, describe, expect, it } from "vitest";
import { openTensorFile, writeMergedCopy } from "../src/index";

const tmp = mkdtempSync(join(tmpdir(), "adapter-files-dtypes-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Seeded values in [-2, 2) (xorshift32). */
function seeded(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296 - 0.5) * 4;
  }
  return out;
}

/** The test's own float64 decoding of one stored element (independent of the library's decoders). */
function storedValue(dtype: FloatDtype, bytes: Uint8Array, i: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === "F64") return view.getFloat64(8 * i, true);
  if (dtype === "F32") return view.getFloat32(4 * i, true);
  const h = view.getUint16(2 * i, true);
  if (dtype === "BF16") return new Float32Array(new Uint32Array([h << 16]).buffer)[0]!;
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  return exp === 0 ? sign * frac * 2 ** -24 : sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Half a unit in the last place of `dtype` at |x| (the error of rounding to it). */
function halfUlp(dtype: FloatDtype, x: number): number {
  const mantissa = { F16: 10, BF16: 7, F32: 23, F64: 52 }[dtype];
  const minExp = { F16: -14, BF16: -126, F32: -126, F64: -1022 }[dtype];
  const e = Math.max(Math.floor(Math.log2(Math.abs(x) || 2 ** minExp)), minExp);
  return 2 ** (e - mantissa) / 2;
}

// Patched tensors in every float dtype; untouched ones around them; one F32 tensor larger than a copy
// chunk (16 MiB) so it is copied in parts; sizes vary so the reused buffers grow and shrink in use.
const specs: [string, FloatDtype, number[], boolean][] = [
  ["a.big", "F32", [4200, 1024], false],
  ["b.f16", "F16", [300, 200], true],
  ["c.bf16", "BF16", [128, 96], true],
  ["d.f16.kept", "F16", [64, 64], false],
  ["e.f64", "F64", [50, 40], true],
  ["f.f32", "F32", [256, 256], true],
  ["g.bf16.kept", "BF16", [33, 7], false],
  ["h.f16.small", "F16", [3, 5], true],
];
const delta = (i: number): number => 0.01 * Math.sin(i);

describe("writeMergedCopy keeps each tensor's dtype", () => {
  it("F16 / BF16 / F64 weights merged in float32 and written back in their dtype = the float64 reference rounded; untouched bytes copied", async () => {
    const basePath = join(tmp, "base.safetensors");
    const tensors = new Map(
      specs.map(([n, , shape], k) => [
        n,
        {
          data: seeded(
            shape.reduce((a, b) => a * b, 1),
            k + 1,
          ),
          shape,
        },
      ]),
    );
    await writeSafetensors(basePath, tensors, {
      dtypes: new Map(specs.map(([n, d]) => [n, d])),
      metadata: { m: "1" },
    });
    const outPath = join(tmp, "out.safetensors");
    const base = await openTensorFile(basePath);
    const patched = new Set(specs.filter((s) => s[3]).map((s) => s[0]));
    try {
      await writeMergedCopy(base, outPath, async (info, loadWeight): Promise<Tensor<Float32Array> | null> => {
        if (!patched.has(info.name)) return null;
        const w = await loadWeight();
        for (let i = 0; i < w.data.length; i++) w.data[i]! += delta(i);
        return w;
      });
    } finally {
      await base.close();
    }
    const [before, after] = [await SafetensorsReader.open(basePath), await SafetensorsReader.open(outPath)];
    try {
      expect(after.header.metadata).toEqual({ m: "1" });
      for (const [name, dtype] of specs.map((s) => [s[0], s[1]] as const)) {
        expect(after.info(name)!.dtype).toBe(dtype);
        const [b, a] = [await before.readBytes(name), await after.readBytes(name)];
        if (!patched.has(name)) {
          expect(Buffer.from(a).equals(Buffer.from(b)), name).toBe(true);
          continue;
        }
        // Reference in float64: stored base value + delta. The merge adds in float32 (one rounding,
        // ≤ 2^-24·|x|) then rounds to the dtype (≤ half an ulp of it): the tolerance is their sum.
        let worst = 0;
        for (let i = 0; i < a.length / { F16: 2, BF16: 2, F32: 4, F64: 8 }[dtype]; i++) {
          const ref = storedValue(dtype, b, i) + delta(i);
          const err = Math.abs(storedValue(dtype, a, i) - ref);
          worst = Math.max(worst, err - (halfUlp(dtype, ref) + Math.abs(ref) * 2 ** -24 + 2 ** -149));
        }
        expect(worst, name).toBeLessThanOrEqual(0);
      }
    } finally {
      await before.close();
      await after.close();
    }
  }, 60_000);
});
