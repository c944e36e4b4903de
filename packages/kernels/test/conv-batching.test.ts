import { describe, expect, it } from "vitest";
import { type ConvOptions, conv2d, conv2dBackward, createRng, type Tensor, tensor } from "../src/index";

const opts: ConvOptions = {
  stride: [1, 1],
  padding: [1, 1],
  dilation: [1, 1],
  groups: 2,
  paddingMode: "reflect",
};

function randn(shape: number[], seed: number): Tensor<Float32Array> {
  const rng = createRng(seed);
  return tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()),
    shape,
  );
}

function slice(t: Tensor<Float32Array>, s: number): Tensor<Float32Array> {
  const per = t.data.length / t.shape[0]!;
  return tensor(t.data.slice(s * per, (s + 1) * per), [1, ...t.shape.slice(1)]);
}

// The batched path runs several samples through one GEMM; the per-sample path (checked against the
// float64 reference in conv.test.ts) must give the same numbers: 1e-6 relative, float32 sums of ≤ 18 terms.
const close = (a: Float32Array, b: Float32Array) => {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
  return worst;
};

describe("conv batching and selective gradients", () => {
  const x = randn([5, 4, 6, 7], 1);
  const w = randn([6, 2, 3, 3], 2);
  const dy = randn([5, 6, 6, 7], 3);

  it("a batch equals its samples run one by one (forward and backward)", () => {
    const y = conv2d(x, w, null, opts);
    const g = conv2dBackward(x, w, dy, opts);
    const dw = new Float32Array(w.data.length);
    for (let s = 0; s < 5; s++) {
      const ys = conv2d(slice(x, s), w, null, opts);
      expect(close(ys.data, slice(y, s).data)).toBeLessThan(1e-6);
      const gs = conv2dBackward(slice(x, s), w, slice(dy, s), opts);
      expect(close(gs.dx.data, slice(g.dx, s).data)).toBeLessThan(1e-6);
      for (let i = 0; i < dw.length; i++) dw[i] = dw[i]! + gs.dw.data[i]!;
    }
    expect(close(dw, g.dw.data)).toBeLessThan(1e-5);
  });

  it("computes only the requested gradients; the others are zeros", () => {
    const full = conv2dBackward(x, w, dy, opts);
    const inputOnly = conv2dBackward(x, w, dy, opts, { weight: false });
    expect(Array.from(inputOnly.dx.data)).toEqual(Array.from(full.dx.data));
    expect(inputOnly.dw.data.every((v) => v === 0)).toBe(true);
    expect(inputOnly.db.data.every((v) => v === 0)).toBe(true);
    const weightOnly = conv2dBackward(x, w, dy, opts, { input: false });
    expect(Array.from(weightOnly.dw.data)).toEqual(Array.from(full.dw.data));
    expect(Array.from(weightOnly.db.data)).toEqual(Array.from(full.db.data));
    expect(weightOnly.dx.data.every((v) => v === 0)).toBe(true);
  });

  it("splits batches whose column buffer would exceed 4M floats into chunks with the same result", () => {
    // kk·hw = 1·4096 per sample: 1100 samples need 2 chunks of at most 1024.
    const big = randn([1100, 1, 64, 64], 4);
    const k = randn([1, 1, 1, 1], 5);
    const o1: ConvOptions = {
      stride: [1, 1],
      padding: [0, 0],
      dilation: [1, 1],
      groups: 1,
      paddingMode: "zeros",
    };
    const y = conv2d(big, k, null, o1);
    const scale = k.data[0]!;
    let worst = 0;
    for (let i = 0; i < y.data.length; i++)
      worst = Math.max(worst, Math.abs(y.data[i]! - big.data[i]! * scale));
    expect(worst).toBeLessThan(1e-6);
  });
});
