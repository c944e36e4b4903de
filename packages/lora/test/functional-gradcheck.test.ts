import type { Tensor } from "@lycoris-ts/kernels";
import { describe, expect, it } from "vitest";
import { loraBackward, loraForward } from "../src/functional";
import {
  CASES,
  type RandomCase,
  randomInput64,
  randomParams64,
  randomTensor64,
  seeded,
} from "./support/random";

// Finite-difference check in float64. The loss L = Σ g ⊙ y is linear in x and in every single parameter
// entry (each enters y through one product), so a central difference is exact up to rounding:
// ≈ 1e-16·|L| / eps ≈ 1e-12 for eps = 1e-3. Tolerance 1e-7·(1 + |analytic|) leaves a wide margin and still
// catches a wrong index, transpose or missing scaling (errors of order 1e-2 or more).
const EPS = 1e-3;
const TOL = 1e-7;

function loss(y: Tensor<Float64Array>, g: Tensor<Float64Array>): number {
  let acc = 0;
  for (let i = 0; i < y.data.length; i++) acc += y.data[i]! * g.data[i]!;
  return acc;
}

function check(c: RandomCase, seed: number): void {
  const rng = seeded(seed);
  const params = randomParams64(c, rng);
  const x = randomInput64(c, rng);
  const scaling = 1.75;
  const forward = () => loraForward(x, params, c.layer, scaling, c.conv);
  const y0 = forward();
  const g = randomTensor64(y0.shape, rng);
  const { dx, grads } = loraBackward(x, params, c.layer, scaling, g, c.conv);
  expect(Object.keys(grads).sort()).toEqual(Object.keys(params).sort());
  expect(dx.shape).toEqual(x.shape);

  const fd = (t: Tensor<Float64Array>, i: number): number => {
    const old = t.data[i]!;
    t.data[i] = old + EPS;
    const up = loss(forward(), g);
    t.data[i] = old - EPS;
    const down = loss(forward(), g);
    t.data[i] = old;
    return (up - down) / (2 * EPS);
  };
  const bad: string[] = [];
  const compare = (what: string, analytic: Float64Array, t: Tensor<Float64Array>) => {
    for (let i = 0; i < t.data.length; i++) {
      const a = analytic[i]!;
      const n = fd(t, i);
      if (!(Math.abs(a - n) <= TOL * (1 + Math.abs(a)))) bad.push(`${what}[${i}] ${a} vs ${n}`);
    }
  };
  if (c.layer.kind === "embedding") expect(dx.data.every((v) => v === 0)).toBe(true);
  else compare("dx", dx.data, x);
  for (const [name, p] of Object.entries(params)) {
    expect(grads[name]!.shape, name).toEqual(p.shape);
    compare(name, grads[name]!.data, p);
  }
  expect(bad.slice(0, 10)).toEqual([]);
}

describe("loraBackward vs central finite differences (float64)", () => {
  CASES.forEach((c, i) => {
    it(c.label, () => check(c, 300 + i));
  });
});
