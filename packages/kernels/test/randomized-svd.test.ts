import { describe, expect, it } from "vitest";
import { KernelsError, matmul, qr, randomizedSvd, relativeError, type Tensor } from "../src/index";
import { f32, rand64 } from "./helpers";

type T64 = Tensor<Float64Array>;

/** `U·diag(s)·Vᵀ` with orthonormal `U [m, p]`, `V [n, p]` from the QR of seeded Gaussian matrices: known singular values. */
function withSpectrum(m: number, n: number, s: readonly number[], seed: number): T64 {
  const p = s.length;
  const u = qr(rand64([m, p], seed)).q;
  const v = qr(rand64([n, p], seed + 1)).q;
  const us = Float64Array.from(u.data, (x, i) => x * s[i % p]!);
  return matmul({ data: us, shape: [m, p] }, v, { transB: true });
}

function rebuild(u: T64, s: Float64Array, v: T64): T64 {
  const k = s.length;
  const us = Float64Array.from(u.data, (x, i) => x * s[i % k]!);
  return matmul({ data: us, shape: [u.shape[0]!, k] }, v, { transB: true });
}

describe("randomizedSvd", () => {
  it("recovers an exact rank-5 float64 matrix: singular values and A = U·S·Vᵀ (1e-10 · σ₀)", () => {
    // float64 throughout (matmul, Householder QR, a 13×13 SVD): errors are ulps of σ₀; a wrong subspace is O(σ₀).
    const s = [9, 5, 3, 2, 0.5];
    const a = withSpectrum(150, 90, s, 3);
    const svd = randomizedSvd(a, 5);
    const { u, s: got, v } = svd.leading(5);
    for (let i = 0; i < 5; i++) expect(Math.abs(got[i]! - s[i]!)).toBeLessThan(1e-10 * 9);
    expect(svd.singularValues.length).toBe(90);
    expect(svd.singularValues[13] ?? 0).toBe(0);
    expect(relativeError(a.data, rebuild(u, got, v).data)).toBeLessThan(1e-10);
  });

  it("float32 input (summed in float64): the leading values within 1e-6 relative", () => {
    // The input itself is rounded to float32 (~6e-8 relative per entry); the products are float64.
    const s = [4, 3, 1, 0.25];
    const a = f32(withSpectrum(200, 120, s, 5));
    const { s: got } = randomizedSvd(a, 4, { seed: 9 }).leading(4);
    for (let i = 0; i < 4; i++) expect(Math.abs(got[i]! - s[i]!) / s[i]!).toBeLessThan(1e-6);
  });

  it("a full-rank decaying spectrum (σᵢ = 2⁻ⁱ): two power iterations give the leading 4 within 1e-9·σ₀", () => {
    // 12 captured directions and σ₁₂/σ₄ = 2⁻⁸: the subspace error after 2 iterations is ~(2⁻⁸)⁵ ≈ 1e-12.
    const s = Array.from({ length: 60 }, (_, i) => 2 ** -i);
    const a = withSpectrum(100, 80, s, 11);
    const { s: got } = randomizedSvd(a, 4).leading(4);
    for (let i = 0; i < 4; i++) expect(Math.abs(got[i]! - s[i]!)).toBeLessThan(1e-9);
  });

  it("refuses k outside [1, min(rows, cols)] and non-2-D input with KernelsError", () => {
    const a = rand64([6, 4], 1);
    expect(() => randomizedSvd(a, 0)).toThrow(KernelsError);
    expect(() => randomizedSvd(a, 5)).toThrow(/k must be an integer in \[1, 4\]/);
    expect(() => randomizedSvd({ data: new Float64Array(8), shape: [2, 2, 2] }, 1)).toThrow(KernelsError);
  });
});

describe("relativeError", () => {
  it("is ‖a − b‖/‖a‖, 0 for two zeros, ∞ for a zero reference", () => {
    expect(relativeError(Float64Array.of(3, 4), Float64Array.of(3, 0))).toBeCloseTo(0.8, 15);
    expect(relativeError(new Float32Array(3), new Float32Array(3))).toBe(0);
    expect(relativeError(new Float32Array(2), Float32Array.of(1, 0))).toBe(Number.POSITIVE_INFINITY);
    expect(() => relativeError(new Float32Array(2), new Float32Array(3))).toThrow(KernelsError);
  });
});
