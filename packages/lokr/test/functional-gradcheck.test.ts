import type { Tensor } from "@lycoris-ts/kernels";
import { describe, expect, it } from "vitest";
import { type LoKrForwardOptions, lokrBackward, lokrForward } from "../src/functional";
import {
  type RandomCase,
  randomParams64,
  randomTensor64,
  seeded,
  structureCases,
  structureOf,
} from "./support/functional-random";

// Finite-difference check in float64. The loss L = Σ g ⊙ y is linear in x and in every single parameter
// entry (each entry enters ΔW through one product), so a central difference is exact up to rounding:
// rounding error ≈ 1e-16·|L| / eps ≈ 1e-12 for eps = 1e-3. Tolerance 1e-7·(1 + |analytic|) leaves a wide
// margin and still catches any wrong index or missing factor (errors of order 1e-2 or more).
const EPS = 1e-3;
const TOL = 1e-7;

function loss(y: Tensor<Float64Array>, g: Tensor<Float64Array>): number {
  let acc = 0;
  for (let i = 0; i < y.data.length; i++) acc += y.data[i]! * g.data[i]!;
  return acc;
}

/** Indices to probe: all of them for small tensors, otherwise a seeded sample of 48. */
function probe(n: number, seed: number): number[] {
  if (n <= 48) return Array.from({ length: n }, (_, i) => i);
  const rng = seeded(seed);
  return Array.from({ length: 48 }, () => Math.floor(rng.uniform() * n));
}

function check(c: RandomCase, seed: number, o: LoKrForwardOptions): void {
  const rng = seeded(seed);
  const params = randomParams64(c, rng);
  const x = randomTensor64(c.inputShape, rng);
  const scale = 1.25;
  const y0 = lokrForward(x, params, c.layer, scale, c.conv, o);
  const g = randomTensor64(y0.shape, rng);
  const { dx, grads } = lokrBackward(x, params, c.layer, scale, g, c.conv, o);
  expect(Object.keys(grads).sort()).toEqual(Object.keys(params).sort());
  expect([...dx.shape]).toEqual([...x.shape]);

  const fd = (t: Tensor<Float64Array>, i: number): number => {
    const data = t.data as Float64Array;
    const old = data[i]!;
    data[i] = old + EPS;
    const up = loss(lokrForward(x, params, c.layer, scale, c.conv, o), g);
    data[i] = old - EPS;
    const down = loss(lokrForward(x, params, c.layer, scale, c.conv, o), g);
    data[i] = old;
    return (up - down) / (2 * EPS);
  };
  const bad: string[] = [];
  for (const i of probe(x.data.length, seed + 1)) {
    const a = dx.data[i]!;
    const n = fd(x, i);
    if (!(Math.abs(a - n) <= TOL * (1 + Math.abs(a)))) bad.push(`dx[${i}] ${a} vs ${n}`);
  }
  for (const [name, p] of Object.entries(params)) {
    const grad = grads[name]!;
    expect([...grad.shape], name).toEqual([...p.shape]);
    for (const i of probe(p.data.length, seed + 2)) {
      const a = grad.data[i]!;
      const n = fd(p, i);
      if (!(Math.abs(a - n) <= TOL * (1 + Math.abs(a)))) bad.push(`${name}[${i}] ${a} vs ${n}`);
    }
  }
  expect(bad.slice(0, 10)).toEqual([]);
}

describe("lokrBackward vs central finite differences (float64)", () => {
  structureCases().forEach((c, idx) => {
    it(`${c.label} (${structureOf(c)})`, () => check(c, 500 + idx, {}));
    it(`${c.label} (${structureOf(c)}), kronecker layout`, () =>
      check(c, 900 + idx, { layout: "kronecker" }));
  });
});
