import { conv1d, conv2d, matmul, reshape, type Tensor } from "@lycoris-ts/kernels";
import { describe, expect, it } from "vitest";
import { lokrDeltaWeight, lokrForward, lokrMergeInto, lokrParamShapes } from "../src/functional";
import {
  type RandomCase,
  randomParams64,
  randomTensor64,
  seeded,
  structureCases,
  structureOf,
} from "./support/functional-random";

// All tensors here are float64, so two mathematically equal computations differ only by summation order:
// a relative tolerance of 1e-10 (vs values of order 1) leaves ~6 orders of magnitude of margin for rounding
// and still catches any wrong index (errors of order 1e-2 or more).
const TOL = 1e-10;

function maxRelError(a: Tensor<Float64Array>, b: Tensor<Float64Array>): number {
  expect([...a.shape]).toEqual([...b.shape]);
  let scale = 1;
  for (const v of b.data) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < a.data.length; i++) worst = Math.max(worst, Math.abs(a.data[i]! - b.data[i]!));
  return worst / scale;
}

/** The dense reference: linear(x, W) or conv(x, W) with the case's geometry. */
function denseApply(
  c: RandomCase,
  x: Tensor<Float64Array>,
  w: Tensor<Float64Array>,
  paddingMode: "zeros" | "circular" = "zeros",
): Tensor<Float64Array> {
  if (c.layer.kind === "linear") {
    const x2 = reshape(x, [x.data.length / c.layer.inFeatures, c.layer.inFeatures]);
    return reshape(matmul(x2, w, { transB: true }), [...x.shape.slice(0, -1), c.layer.outFeatures]);
  }
  const g = c.conv!;
  const o = { stride: g.stride, padding: g.padding, dilation: g.dilation, groups: g.groups, paddingMode };
  return c.layer.kind === "conv1d" ? conv1d(x, w, null, o) : conv2d(x, w, null, o);
}

/** Independent loop-based true Kronecker delta from the stored factors: s · w1[p,i] · w2[q,j,t]. */
function naiveKroneckerDelta(
  c: RandomCase,
  p: Record<string, Tensor<Float64Array>>,
  s: number,
): Tensor<Float64Array> {
  const { structure } = lokrParamShapes(c.layer, c.options);
  const [l, k] = structure.outFactors;
  const [m, n] = structure.inFactors;
  const P = c.layer.kernelSize.reduce((a, b) => a * b, 1);
  const mm = (a: Tensor<Float64Array>, b: Tensor<Float64Array>) => matmul(a, b);
  const w1 = p.lokr_w1 ?? mm(p.lokr_w1_a!, p.lokr_w1_b!);
  let w2: Float64Array;
  if (p.lokr_w2) w2 = p.lokr_w2.data;
  else if (p.lokr_t2) {
    // w2[q, j, t] = Σ_{a,b} t2[a, b, t] · w2_a[a, q] · w2_b[b, j]
    const t2 = p.lokr_t2;
    const r1 = t2.shape[0]!;
    const r2 = t2.shape[1]!;
    w2 = new Float64Array(k * n * P);
    for (let q = 0; q < k; q++)
      for (let j = 0; j < n; j++)
        for (let t = 0; t < P; t++) {
          let acc = 0;
          for (let a = 0; a < r1; a++)
            for (let b = 0; b < r2; b++)
              acc +=
                t2.data[(a * r2 + b) * P + t]! *
                p.lokr_w2_a!.data[a * k + q]! *
                p.lokr_w2_b!.data[b * n + j]!;
          w2[(q * n + j) * P + t] = acc;
        }
  } else w2 = mm(p.lokr_w2_a!, p.lokr_w2_b!).data;
  const out = new Float64Array(l * k * m * n * P);
  for (let pi = 0; pi < l; pi++)
    for (let q = 0; q < k; q++)
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++)
          for (let t = 0; t < P; t++)
            out[((pi * k + q) * (m * n) + i * n + j) * P + t] =
              s * w1.data[pi * m + i]! * w2[(q * n + j) * P + t]!;
  return { data: out, shape: [l * k, m * n, ...c.layer.kernelSize] };
}

describe("lokrForward / lokrDeltaWeight / lokrMergeInto agree (float64, rel. tol 1e-10)", () => {
  const cases = structureCases();

  it("covers every structure", () => {
    const seen = new Set(cases.map(structureOf));
    for (const s of ["full/full", "full/lowrank", "lowrank/lowrank", "lowrank/tucker", "full/tucker"]) {
      expect(seen.has(s), s).toBe(true);
    }
  });

  cases.forEach((c, idx) => {
    describe(`${c.label} (${structureOf(c)})`, () => {
      const rng = seeded(100 + idx);
      const params = randomParams64(c, rng);
      const x = randomTensor64(c.inputShape, rng);
      const scale = 0.75;

      it("kronecker layout equals an independent loop-based Kronecker product", () => {
        const delta = lokrDeltaWeight(params, c.layer, scale, { layout: "kronecker" });
        expect(maxRelError(delta, naiveKroneckerDelta(c, params, scale))).toBeLessThanOrEqual(TOL);
      });

      for (const layout of ["peft", "kronecker"] as const) {
        it(`forward equals the dense op with the materialised delta (${layout} layout)`, () => {
          const delta = lokrDeltaWeight(params, c.layer, scale, { layout });
          const y = lokrForward(x, params, c.layer, scale, c.conv, { layout });
          expect(maxRelError(y, denseApply(c, x, delta))).toBeLessThanOrEqual(TOL);
        });

        it(`merge adds the delta and unmerge restores the weight (${layout} layout)`, () => {
          const w = randomTensor64([c.layer.outFeatures, c.layer.inFeatures, ...c.layer.kernelSize], rng);
          const original = w.data.slice();
          const delta = lokrDeltaWeight(params, c.layer, scale, { layout });
          lokrMergeInto(w, params, c.layer, scale, { layout });
          const expected = { data: original.map((v, i) => v + delta.data[i]!), shape: w.shape };
          expect(maxRelError(w, expected)).toBeLessThanOrEqual(TOL);
          lokrMergeInto(w, params, c.layer, -scale, { layout });
          expect(maxRelError(w, { data: original, shape: w.shape })).toBeLessThanOrEqual(TOL);
        });
      }

      if (c.conv !== undefined && c.conv.padding !== "valid") {
        it("pads with the padding mode of the conv options it is given", () => {
          const conv = { ...c.conv!, paddingMode: "circular" as const };
          const delta = lokrDeltaWeight(params, c.layer, scale);
          const zeroPadded = lokrForward(x, params, c.layer, scale, { ...conv, paddingMode: "zeros" });
          expect(maxRelError(zeroPadded, denseApply(c, x, delta, "zeros"))).toBeLessThanOrEqual(TOL);
          const hasPadding = Array.isArray(c.conv!.padding) ? c.conv!.padding.some((v) => v > 0) : true;
          if (!hasPadding || c.layer.kernelSize.every((k) => k === 1)) return;
          const basePadded = lokrForward(x, params, c.layer, scale, conv);
          expect(maxRelError(basePadded, denseApply(c, x, delta, "circular"))).toBeLessThanOrEqual(TOL);
          expect(maxRelError(basePadded, zeroPadded)).toBeGreaterThan(1e-6);
        });
      }
    });
  });

  it("PEFT's Conv1d full-w2 layout differs from the true Kronecker layout", () => {
    const c = structureCases().find((k) => k.label.startsWith("conv1d full"))!;
    const params = randomParams64(c, seeded(5));
    const peft = lokrDeltaWeight(params, c.layer, 1);
    const kron = lokrDeltaWeight(params, c.layer, 1, { layout: "kronecker" });
    expect(maxRelError(peft, kron)).toBeGreaterThan(1e-3);
    // same multiset of values: a pure permutation
    expect([...peft.data].sort()).toEqual([...kron.data].sort());
  });
});
