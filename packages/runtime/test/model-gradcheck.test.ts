import { createRng, normalTensor, type Rng, type Tensor, tensor } from "@lycoris-ts/kernels";
import { describe, expect, it } from "vitest";
import {
  AvgPool2d,
  Conv1d,
  Conv2d,
  Conv3d,
  Dropout,
  Embedding,
  Flatten,
  GPT2Conv1D,
  Identity,
  LayerNorm,
  Linear,
  MaxPool2d,
  type Module,
  ReLU,
  Sequential,
} from "../src/model/index";

/**
 * Finite-difference gradient checks. The loss is L = Σ y·r for a fixed random
 * r, so dL/dy = r. Central differences with eps = 1e-2 on float32 forwards
 * (dividing by the actually representable step): for layers that are linear in
 * the perturbed value the difference is exact up to float32 rounding
 * (~1e-7·Σ|y·r| / 0.02 ≈ 1e-5 here); for LayerNorm the O(eps²) truncation term
 * is ~1e-4. Tolerance per element: |analytic − numeric| ≤ 2e-3·(1 + |numeric|),
 * far below the O(1) errors a wrong formula produces. Inputs are kept at least
 * 0.05 away from ReLU / max-pool kinks so the finite difference never crosses one.
 */
const EPS = 1e-2;
const TOL = 2e-3;
const SEQ_SEED = 29;

function lossOf(m: Module, x: Tensor<Float32Array>, r: Float32Array): number {
  const y = m.forward(x);
  let s = 0;
  for (let i = 0; i < r.length; i++) s += y.data[i]! * r[i]!;
  return s;
}

function numericGrad(values: Float32Array, i: number, f: () => number): number {
  const v = values[i]!;
  values[i] = v + EPS;
  const up = values[i]!;
  const lp = f();
  values[i] = v - EPS;
  const down = values[i]!;
  const lm = f();
  values[i] = v;
  return (lp - lm) / (up - down);
}

function randomizeParameters(m: Module, rng: Rng): void {
  for (const p of m.parameters()) p.data.data.set(normalTensor(p.shape, rng, 0.5).data);
}

interface Report {
  worst: number;
  checked: number;
}

function compare(analytic: Float32Array, values: Float32Array, f: () => number, report: Report): void {
  for (let i = 0; i < values.length; i++) {
    const n = numericGrad(values, i, f);
    const err = Math.abs(analytic[i]! - n) / (1 + Math.abs(n));
    report.worst = Math.max(report.worst, err);
    report.checked++;
  }
}

/** Checks every parameter gradient and (unless `inputGrad` is false) the input gradient. */
function gradCheck(m: Module, x: Tensor<Float32Array>, seed: number, inputGrad = true): Report {
  const rng = createRng(seed);
  m.train();
  const y = m.forward(x);
  const r = normalTensor(y.shape, rng, 1).data;
  m.zeroGrad();
  const dx = m.backward(tensor(r, y.shape));
  expect(dx.shape).toEqual(x.shape);
  const report: Report = { worst: 0, checked: 0 };
  const f = () => lossOf(m, x, r);
  for (const [name, p] of m.namedParameters()) {
    expect(p.grad, `grad of ${name}`).not.toBeNull();
    expect(p.grad!.shape).toEqual(p.shape);
    compare(p.grad!.data, p.data.data, f, report);
  }
  if (inputGrad) compare(dx.data, x.data, f, report);
  return report;
}

function input(shape: number[], seed: number, awayFromZero = 0): Tensor<Float32Array> {
  const t = normalTensor(shape, createRng(seed), 1);
  for (let i = 0; i < t.data.length; i++) {
    const v = t.data[i]!;
    if (Math.abs(v) < awayFromZero) t.data[i] = v < 0 ? v - awayFromZero : v + awayFromZero;
  }
  return t;
}

/** Distinct values spaced 0.05 apart in a seeded random order (no near-ties for max pooling). */
function spacedInput(shape: number[], seed: number): Tensor<Float32Array> {
  const n = shape.reduce((a, b) => a * b, 1);
  const rng = createRng(seed);
  const vals = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.05);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [vals[i], vals[j]] = [vals[j]!, vals[i]!];
  }
  return tensor(Float32Array.from(vals), shape);
}

function check(m: Module, x: Tensor<Float32Array>, seed = 1, inputGrad = true): void {
  randomizeParameters(m, createRng(seed + 100));
  const rep = gradCheck(m, x, seed, inputGrad);
  expect(rep.checked).toBeGreaterThan(0);
  expect(rep.worst).toBeLessThanOrEqual(TOL);
}

describe("finite-difference gradient checks (eps 1e-2, tol 2e-3·(1+|g|))", () => {
  it("Linear with bias, 2-D input", () => check(new Linear(5, 4), input([3, 5], 1)));
  it("Linear without bias, 3-D input", () => check(new Linear(5, 4, false), input([2, 3, 5], 2)));
  it("GPT2Conv1D, 3-D input", () => check(new GPT2Conv1D(4, 5), input([2, 3, 5], 3)));
  it("Conv1d stride 2, padding 1, groups 2", () =>
    check(new Conv1d(4, 6, 3, { stride: 2, padding: 1, groups: 2 }), input([2, 4, 9], 4)));
  it("Conv1d dilation 2, padding 'same', reflect mode", () =>
    check(
      new Conv1d(3, 2, 3, { dilation: 2, padding: "same", paddingMode: "reflect" }),
      input([2, 3, 8], 5),
    ));
  it("Conv1d circular padding, no bias", () =>
    check(new Conv1d(2, 3, 3, { padding: 2, paddingMode: "circular", bias: false }), input([1, 2, 6], 6)));
  it("Conv2d stride/padding/dilation per axis, groups 2", () =>
    check(
      new Conv2d(4, 6, [3, 2], { stride: [2, 1], padding: [1, 0], dilation: [1, 2], groups: 2 }),
      input([2, 4, 7, 6], 7),
    ));
  it("Conv2d replicate padding", () =>
    check(new Conv2d(2, 3, 3, { padding: 1, paddingMode: "replicate" }), input([1, 2, 5, 4], 8)));
  it("Conv3d stride/dilation/groups, circular padding", () =>
    check(
      new Conv3d(2, 4, [2, 2, 3], {
        stride: [1, 2, 1],
        padding: 1,
        dilation: [2, 1, 1],
        groups: 2,
        paddingMode: "circular",
      }),
      input([1, 2, 4, 4, 3], 24),
    ));
  it("Conv2d unbatched input [C, H, W]", () => check(new Conv2d(2, 2, 2), input([2, 4, 3], 9)));
  it("Embedding (weight gradient; indices get none)", () => {
    const m = new Embedding(7, 3);
    const idx = tensor(Float32Array.from([0, 3, 3, 6, 1, 0, 2, 3]), [2, 4]);
    check(m, idx, 10, false);
  });
  it("LayerNorm over two trailing dims, affine", () => check(new LayerNorm([3, 4]), input([2, 3, 4], 11)));
  it("LayerNorm without affine", () =>
    check(new LayerNorm(5, { elementwiseAffine: false, eps: 1e-3 }), input([4, 5], 12)));
  it("ReLU", () => check(new ReLU(), input([3, 7], 13, 0.05)));
  it("Identity", () => check(new Identity(), input([3, 2], 13)));
  it("Flatten", () => check(new Flatten(), input([2, 3, 4], 14)));
  it("MaxPool2d 2x2", () => check(new MaxPool2d(2), spacedInput([2, 2, 4, 5], 15)));
  it("MaxPool2d 3x3, stride 2, padding 1", () =>
    check(new MaxPool2d(3, { stride: 2, padding: 1 }), spacedInput([1, 2, 5, 5], 16)));
  it("AvgPool2d 3x3, stride 2, padding 1 (count_include_pad true and false)", () => {
    check(new AvgPool2d(3, { stride: 2, padding: 1 }), input([1, 2, 5, 4], 17));
    check(new AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }), input([1, 2, 5, 4], 18));
  });
  it("Sequential CNN (conv → relu → maxpool → flatten → linear → layernorm)", () => {
    const m = new Sequential(
      new Conv2d(1, 2, 3, { padding: 1 }),
      new ReLU(),
      new MaxPool2d(2),
      new Flatten(),
      new Linear(8, 3),
      new LayerNorm(3),
    );
    randomizeParameters(m, createRng(119));
    // The finite difference must not cross a ReLU kink or a max-pool tie: with
    // eps = 1e-2 and |x|, |w| ≲ 3, a pre-activation moves by < 0.04. Assert
    // the seeded data keeps a margin above that (a seed that broke it would show here).
    const x = input([2, 1, 4, 4], SEQ_SEED);
    const pre = m.children().get("0")!.forward(x).data;
    expect(Math.min(...Array.from(pre, Math.abs))).toBeGreaterThan(0.04);
    const rep = gradCheck(m, x, SEQ_SEED);
    expect(rep.worst).toBeLessThanOrEqual(TOL);
  });

  it("Dropout: identity in eval; in training the backward applies the forward's mask", () => {
    const x = input([4, 50], 30, 0.05);
    const d = new Dropout(0.25, createRng(31));
    expect(d.eval().forward(x)).toBe(x);
    d.train();
    const y = d.forward(x);
    const kept = Array.from(y.data).filter((v) => v !== 0).length;
    // 200 Bernoulli(0.75) draws: 150 ± 6.1 (1 sd); ±30 is ~5 sd.
    expect(Math.abs(kept - 150)).toBeLessThan(30);
    const dy = normalTensor(y.shape, createRng(32), 1);
    const dx = d.backward(dy);
    for (let i = 0; i < x.data.length; i++) {
      // y = x·m, so dx = dy·m with m = y/x ∈ {0, 4/3}; relative tolerance 1e-6 for the float32 division.
      const m = y.data[i]! / x.data[i]!;
      expect(Math.abs(dx.data[i]! - dy.data[i]! * m)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(dx.data[i]!)));
    }
  });

  it("frozen parameters get no gradient, the input gradient is unchanged", () => {
    const m = new Linear(3, 2);
    randomizeParameters(m, createRng(5));
    const x = input([4, 3], 20);
    m.train();
    const y = m.forward(x);
    const dy = normalTensor(y.shape, createRng(21), 1);
    const dxTrainable = m.backward(dy);
    m.zeroGrad();
    m.weight.requiresGrad = false;
    m.bias!.requiresGrad = false;
    m.forward(x);
    const dxFrozen = m.backward(dy);
    expect(m.weight.grad).toBeNull();
    expect(m.bias!.grad).toBeNull();
    expect(dxFrozen.data).toEqual(dxTrainable.data);
  });

  it("gradients accumulate across backward calls until zeroGrad", () => {
    const m = new Linear(3, 2);
    randomizeParameters(m, createRng(6));
    const x = input([4, 3], 22);
    const dy = normalTensor([4, 2], createRng(23), 1);
    m.forward(x);
    m.backward(dy);
    const once = Float32Array.from(m.weight.grad!.data);
    m.forward(x);
    m.backward(dy);
    // Exactly twice: a + a is exact in float32.
    expect(m.weight.grad!.data).toEqual(once.map((v) => 2 * v));
    m.zeroGrad();
    expect(m.weight.grad).toBeNull();
  });
});
