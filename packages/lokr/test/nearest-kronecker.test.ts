import { createRng, type Tensor } from "@lycoris-ts/kernels";
import { describe, expect, it } from "vitest";
import { LoKrError, type LoKrLayerShape, lokrDeltaWeight, lokrFromDelta } from "../src/index";

const rng = createRng(21);
function randn(shape: number[]): Tensor<Float64Array> {
  return { data: Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape };
}

/** Independent float64 reference: `kron(w1, w2)` for 2-D w1 [l, m] and w2 [k, J] as the rows of ΔW [l·k, m·J]. */
function kron64(w1: Tensor<Float64Array>, w2: Tensor<Float64Array>): Float64Array {
  const [l, m] = w1.shape as [number, number];
  const [k, J] = [w2.shape[0]!, w2.data.length / w2.shape[0]!];
  const out = new Float64Array(l * k * m * J);
  for (let p = 0; p < l; p++)
    for (let q = 0; q < k; q++)
      for (let i = 0; i < m; i++)
        for (let j = 0; j < J; j++)
          out[(p * k + q) * m * J + i * J + j] = w1.data[p * m + i]! * w2.data[q * J + j]!;
  return out;
}

function product(a: Tensor<Float64Array>, b: Tensor<Float64Array>): Tensor<Float64Array> {
  const [rows, r] = a.shape as [number, number];
  const cols = b.shape[1]!;
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++)
    for (let t = 0; t < r; t++)
      for (let j = 0; j < cols; j++) out[i * cols + j]! += a.data[i * r + t]! * b.data[t * cols + j]!;
  return { data: out, shape: [rows, cols] };
}

function relErr(ref: ArrayLike<number>, got: ArrayLike<number>): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < ref.length; i++) {
    d += (ref[i]! - got[i]!) ** 2;
    n += ref[i]! ** 2;
  }
  return Math.sqrt(d / n);
}

const linear = (out: number, inF: number): LoKrLayerShape => ({
  kind: "linear",
  outFeatures: out,
  inFeatures: inF,
  kernelSize: [],
});

describe("lokrFromDelta (nearest Kronecker product)", () => {
  it("recovers an exact kron(w1, w2_a·w2_b) with r smaller than w2 (relative error < 1e-6)", () => {
    // [96, 64], factor -1: out = 8·12, in = 8·8; w2 [12, 8] of rank 3 < max(12, 8)/2.
    const w1 = randn([8, 8]);
    const w2 = product(randn([12, 3]), randn([3, 8]));
    const delta = { data: kron64(w1, w2), shape: [96, 64] };
    const x = lokrFromDelta(delta, linear(96, 64), { r: 3 });
    expect(Object.entries(x.params).map(([n, t]) => [n, t.shape])).toEqual([
      ["lokr_w1", [8, 8]],
      ["lokr_w2_a", [12, 3]],
      ["lokr_w2_b", [3, 8]],
    ]);
    // Factors are float32: the rebuilt ΔW is float32-rounded (~1e-7 relative); the reported error says the same.
    const rebuilt = lokrDeltaWeight(x.params, linear(96, 64), 1);
    expect(relErr(delta.data, rebuilt.data)).toBeLessThan(1e-6);
    expect(x.relativeError).toBeLessThan(1e-6);
    expect(x.relativeError).toBeCloseTo(relErr(delta.data, rebuilt.data), 7);
  });

  it("decomposeBoth and a factor: w1 a rank-r product too, PEFT's shapes for the factor", () => {
    // factor 16: out 64 = 16·4, in 48 = 16·3; w1 [16, 16] of rank 2 < 16/2 becomes w1_a·w1_b, w2 [4, 3] stays full.
    const w1 = product(randn([16, 2]), randn([2, 16]));
    const w2 = randn([4, 3]);
    const delta = { data: kron64(w1, w2), shape: [64, 48] };
    const x = lokrFromDelta(delta, linear(64, 48), { r: 2, decomposeFactor: 16, decomposeBoth: true });
    expect(Object.entries(x.params).map(([n, t]) => [n, t.shape])).toEqual([
      ["lokr_w1_a", [16, 2]],
      ["lokr_w1_b", [2, 16]],
      ["lokr_w2", [4, 3]],
    ]);
    expect(x.relativeError).toBeLessThan(1e-6);
  });

  it("conv2d: the kernel stays in w2 (flattened into w2_b when low rank), exact recovery", () => {
    const layer: LoKrLayerShape = { kind: "conv2d", outFeatures: 16, inFeatures: 8, kernelSize: [3, 3] };
    // out 16 = 4·4, in 8 = 2·4: w2 [4, 4·9] of rank 1 < max(4, 4)/2.
    const w1 = randn([4, 2]);
    const w2 = product(randn([4, 1]), randn([1, 36]));
    const delta = { data: kron64(w1, w2), shape: [16, 8, 3, 3] };
    const x = lokrFromDelta(delta, layer, { r: 1 });
    expect(x.params.lokr_w2_b!.shape).toEqual([1, 36]);
    expect(relErr(delta.data, lokrDeltaWeight(x.params, layer, 1).data)).toBeLessThan(1e-6);
  });

  it("conv1d with a full w2: PEFT's permuted layout (lokrDeltaWeight, checked against PEFT) comes back", () => {
    const layer: LoKrLayerShape = { kind: "conv1d", outFeatures: 12, inFeatures: 6, kernelSize: [3] };
    const known = {
      lokr_w1: { data: Float32Array.from(randn([3, 2]).data), shape: [3, 2] },
      lokr_w2: { data: Float32Array.from(randn([4, 3, 3]).data), shape: [4, 3, 3] },
    };
    const delta = lokrDeltaWeight(known, layer, 1);
    const x = lokrFromDelta(delta, layer);
    expect(x.params.lokr_w2!.shape).toEqual([4, 3, 3]);
    // float32 ΔW and factors: ~1e-7 relative rounding.
    expect(relErr(delta.data, lokrDeltaWeight(x.params, layer, 1).data)).toBeLessThan(1e-6);
    expect(x.relativeError).toBeLessThan(1e-6);
  });

  it("an arbitrary ΔW: the reported error is what the factors leave, and no single Kronecker term beats it", () => {
    const delta = randn([24, 20]);
    const x = lokrFromDelta(delta, linear(24, 20));
    const rebuilt = lokrDeltaWeight(x.params, linear(24, 20), 1);
    expect(x.relativeError).toBeCloseTo(relErr(delta.data, rebuilt.data), 6);
    // Perturbed factors are a worse Kronecker approximation (the leading pair is optimal).
    for (let trial = 0; trial < 5; trial++) {
      const w1 = Float64Array.from(x.params.lokr_w1!.data, (v) => v * (1 + 0.05 * rng.normal()));
      const worse = kron64(
        { data: w1, shape: x.params.lokr_w1!.shape },
        {
          data: Float64Array.from(x.params.lokr_w2!.data),
          shape: x.params.lokr_w2!.shape,
        },
      );
      expect(relErr(delta.data, worse)).toBeGreaterThan(x.relativeError);
    }
  });

  it("refuses a ΔW whose shape is not the layer's, and a bad rank, with LoKrError", () => {
    expect(() => lokrFromDelta(randn([4, 4]), linear(4, 6))).toThrow(LoKrError);
    expect(() => lokrFromDelta(randn([4, 4]), linear(4, 4), { r: 0 })).toThrow(
      /r should be a positive integer/,
    );
  });
});
