import { expect } from "vitest";
import { getGpuJsBackend } from "../src/backend/gpujs-backend";
import { getWasmBackend } from "../src/backend/wasm-backend";
import type { BackendName, FloatArray, Tensor } from "../src/index";
import { createRng, toFloat32, uniformTensor } from "../src/index";

/** Seeded float64 tensor with entries in U(-1, 1). */
export function rand64(shape: readonly number[], seed: number): Tensor<Float64Array> {
  const t = uniformTensor(shape, createRng(seed), -1, 1);
  return { data: Float64Array.from(t.data), shape: t.shape };
}

/** The float32 copy of a float64 tensor (its values are exactly representable: they came from f32). */
export function f32(t: Tensor<Float64Array>): Tensor<Float32Array> {
  return toFloat32(t);
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/**
 * Asserts `max|actual − expected| ≤ tol · max(1, max|expected|)` and equal shapes. Tolerances are
 * stated at each call site.
 */
export function expectClose(actual: Tensor<FloatArray>, expected: Tensor<FloatArray>, tol: number): void {
  expect([...actual.shape]).toEqual([...expected.shape]);
  expect(actual.data.length).toBe(expected.data.length);
  let worst = 0;
  for (let i = 0; i < actual.data.length; i++) {
    const d = Math.abs(actual.data[i]! - expected.data[i]!);
    if (!(d <= worst)) worst = d; // NaN propagates as a failure
  }
  const bound = tol * Math.max(1, maxAbs(expected.data));
  expect(worst, `max abs error ${worst} vs bound ${bound}`).toBeLessThanOrEqual(bound);
}

/** Backends every op suite runs on (the ones available in this runtime). */
export function backendsUnderTest(): BackendName[] {
  const names: BackendName[] = ["auto", "js", "ml-matrix"];
  if (getWasmBackend()) names.push("wasm");
  if (getGpuJsBackend()) names.push("gpu.js");
  return names;
}

/**
 * Central finite-difference gradient of `loss` with respect to every entry of `t` (float64; the ops
 * are linear in each argument, so the central difference is exact up to rounding).
 */
export function numericGrad(t: Tensor<Float64Array>, loss: () => number, h = 1e-3): Float64Array {
  const g = new Float64Array(t.data.length);
  for (let i = 0; i < t.data.length; i++) {
    const v = t.data[i]!;
    t.data[i] = v + h;
    const up = loss();
    t.data[i] = v - h;
    const down = loss();
    t.data[i] = v;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

/** `Σ w ⊙ y`: a scalar loss whose gradient with respect to y is w. */
export function dot(w: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < w.length; i++) s += w[i]! * y[i]!;
  return s;
}
