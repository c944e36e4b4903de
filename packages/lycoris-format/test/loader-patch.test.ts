import { createRng, normalTensor, type Tensor } from "@lycoris-ts/kernels";
import { describe, expect, it } from "vitest";
import {
  applyLoaderPatch,
  checkLoaderPatchFits,
  DORA_EPS,
  type KeyMapEntry,
  LycorisFormatError,
  readLoaderPatch,
} from "../src/index";
import { keyMapRegistry } from "./key-map-support";

/**
 * Module kinds as ComfyUI's loader applies them, against independent float64 references written
 * here (the fixtures cover output-axis DoRA, whole-tensor swaps and one Tucker core; these cover the
 * rest). Tolerance 1e-5·(1 + |ref|): float32 factors and products vs float64 arithmetic.
 */

const registry = keyMapRegistry();
const rng = createRng(11);
const rand = (shape: number[]): Tensor<Float32Array> => normalTensor(shape, rng, 0.5);

function entry(moduleKey: string, tensors: ReadonlyMap<string, Tensor<Float32Array>>): KeyMapEntry {
  return {
    moduleKey,
    layout: "kohya",
    kind: null,
    tensors: [...tensors.keys()],
    unread: [],
    status: "placed",
    targets: [],
    message: null,
    closest: [],
  };
}

function expectNear(actual: ArrayLike<number>, ref: ArrayLike<number>): void {
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i]! - ref[i]!) - 1e-5 * (1 + Math.abs(ref[i]!)));
  }
  expect(worst).toBeLessThanOrEqual(0);
}

/** float64 `a[m×k] · b[k×n]`. */
function mm(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) for (let t = 0; t < k; t++) out[i * n + j]! += a[i * k + t]! * b[t * n + j]!;
  return out;
}

const scalar = (v: number): Tensor<Float32Array> => ({ data: Float32Array.of(v), shape: [] });

describe("readLoaderPatch + applyLoaderPatch", () => {
  it("LoCon Tucker lora_mid: ΔW[o,n,k] = scale·Σ up[o,i]·mid[i,j,k]·down[j,n], rank = down's rows", () => {
    const [out, inCh, ri, rj, kh, kw] = [6, 4, 3, 2, 3, 3];
    const up = rand([out, ri, 1, 1]);
    const mid = rand([ri, rj, kh, kw]);
    const down = rand([rj, inCh, 1, 1]);
    const tensors = new Map([
      ["m.lora_up.weight", up],
      ["m.lora_mid.weight", mid],
      ["m.lora_down.weight", down],
      ["m.alpha", scalar(1.5)],
    ]);
    const patch = readLoaderPatch(entry("m", tensors), tensors, registry);
    expect(patch.kind).toBe("lora");
    expect(patch.weight).toMatchObject({ form: "lora", rank: rj, scale: 1.5 / rj });
    const w = rand([out, inCh, kh, kw]);
    const k = kh * kw;
    const ref = Float64Array.from(w.data);
    for (let o = 0; o < out; o++)
      for (let n = 0; n < inCh; n++)
        for (let t = 0; t < k; t++) {
          let s = 0;
          for (let i = 0; i < ri; i++)
            for (let j = 0; j < rj; j++)
              s += up.data[o * ri + i]! * mid.data[(i * rj + j) * k + t]! * down.data[j * inCh + n]!;
          ref[(o * inCh + n) * k + t]! += 0.5 * (1.5 / rj) * s;
        }
    applyLoaderPatch(w, patch, { part: "weight", slice: null, function: null }, 0.5);
    expectNear(w.data, ref);
  });

  it("DoRA with one magnitude per input column: column norms of W + scale·ΔW, strength as W + s·(W' − W)", () => {
    const [out, inCh, r] = [4, 5, 2];
    const up = rand([out, r]);
    const down = rand([r, inCh]);
    const dora = rand([1, inCh]);
    const tensors = new Map([
      ["m.lora_up.weight", up],
      ["m.lora_down.weight", down],
      ["m.alpha", scalar(1)],
      ["m.dora_scale", dora],
    ]);
    const patch = readLoaderPatch(entry("m", tensors), tensors, registry);
    const w = rand([out, inCh]);
    const wc = mm(up.data, down.data, out, r, inCh).map((d, i) => w.data[i]! + 0.5 * d);
    const ref = new Float64Array(out * inCh);
    for (let c = 0; c < inCh; c++) {
      let ss = 0;
      for (let o = 0; o < out; o++) ss += wc[o * inCh + c]! ** 2;
      const f = dora.data[c]! / (Math.sqrt(ss) + DORA_EPS);
      for (let o = 0; o < out; o++) {
        const i = o * inCh + c;
        ref[i] = w.data[i]! + 0.3 * (wc[i]! * f - w.data[i]!);
      }
    }
    applyLoaderPatch(w, patch, { part: "weight", slice: null, function: null }, 0.3);
    expectNear(w.data, ref);
  });

  it("DoRA on a row slice with swap_scale_shift: ΔW swapped, norms of the unswapped original rows, other rows untouched", () => {
    const [rows, inCh, r] = [10, 3, 2];
    const slice = { dim: 0, start: 3, size: 4 };
    const up = rand([slice.size, r]);
    const down = rand([r, inCh]);
    const dora = rand([slice.size, 1]);
    const tensors = new Map([
      ["m.lora_B.weight", up],
      ["m.lora_A.weight", down],
      ["m.dora_scale", dora],
    ]);
    const patch = readLoaderPatch(entry("m", tensors), tensors, registry);
    const w = rand([rows, inCh]);
    const before = Float32Array.from(w.data);
    const d = mm(up.data, down.data, slice.size, r, inCh);
    const half = slice.size / 2;
    const ref = Float64Array.from(before);
    for (let o = 0; o < slice.size; o++) {
      const src = (o + half) % slice.size; // row o of swap(ΔW)
      const row = slice.start + o;
      let ss = 0;
      for (let c = 0; c < inCh; c++) ss += before[row * inCh + c]! ** 2;
      const f = dora.data[o]! / (Math.sqrt(ss) + DORA_EPS);
      for (let c = 0; c < inCh; c++) {
        const i = row * inCh + c;
        ref[i] = before[i]! + 0.5 * ((before[i]! + d[src * inCh + c]!) * f - before[i]!);
      }
    }
    applyLoaderPatch(w, patch, { part: "weight", slice, function: "swap_scale_shift" }, 0.5);
    expectNear(w.data, ref);
    for (const i of [0, 1, 2, 7, 8, 9].flatMap((row) => [0, 1, 2].map((c) => row * inCh + c))) {
      expect(w.data[i]).toBe(before[i]);
    }
  });

  it("diff / diff_b: W += s·diff, b[rows] += s·diff_b; w_norm with b_norm likewise; diff wins over w_norm", () => {
    const diff = rand([4, 3]);
    const wNorm = rand([4, 3]);
    const diffB = rand([2]);
    const tensors = new Map([
      ["m.w_norm", wNorm],
      ["m.diff", diff],
      ["m.diff_b", diffB],
    ]);
    const patch = readLoaderPatch(entry("m", tensors), tensors, registry);
    expect([patch.kind, patch.weight?.form]).toEqual(["diff", "diff"]);
    const w = rand([4, 3]);
    const ref = Array.from(w.data, (v, i) => v + 0.5 * diff.data[i]!);
    applyLoaderPatch(w, patch, { part: "weight", slice: null, function: null }, 0.5);
    expectNear(w.data, ref);
    const b = rand([6]);
    const bRef = Array.from(b.data, (v, i) => (i >= 2 && i < 4 ? v + 2 * diffB.data[i - 2]! : v));
    applyLoaderPatch(b, patch, { part: "bias", slice: { dim: 0, start: 2, size: 2 }, function: null }, 2);
    expectNear(b.data, bRef);
  });

  it("kinds ComfyUI reads but lycoris-ts does not merge are a typed not_supported error naming the kind", () => {
    const t = rand([2, 2]);
    const tensors = new Map([
      ["m.a1.weight", t],
      ["m.a2.weight", t],
      ["m.b1.weight", t],
      ["m.b2.weight", t],
    ]);
    expect(() => readLoaderPatch(entry("m", tensors), tensors, registry)).toThrow(
      expect.objectContaining({ kind: "not_supported", message: expect.stringMatching(/'glora'/) }),
    );
  });

  it("a patch that does not fit its target is a typed shape_mismatch naming both shapes", () => {
    const tensors = new Map([["m.diff", rand([4, 3])]]);
    const patch = readLoaderPatch(entry("m", tensors), tensors, registry);
    const err = checkLoaderPatchFits(patch, { part: "weight", slice: null, function: null }, [4, 4]);
    expect(err).toBeInstanceOf(LycorisFormatError);
    expect(err?.message).toMatch(/target \[4, 4\] does not fit the adapter \(diff \[4, 3\]\)/);
    const rows = checkLoaderPatchFits(
      patch,
      { part: "weight", slice: { dim: 0, start: 6, size: 4 }, function: null },
      [8, 3],
    );
    expect(rows?.kind).toBe("shape_mismatch");
    expect(() =>
      applyLoaderPatch(rand([4, 4]), patch, { part: "weight", slice: null, function: null }, 1),
    ).toThrow(LycorisFormatError);
  });
});
