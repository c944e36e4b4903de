import { describe, expect, it } from "vitest";
import { createRng, fanIn, KernelsError, kaimingUniform, normalTensor, uniformTensor } from "../src/index";

describe("seeded RNG", () => {
  it("is reproducible for a seed and differs across seeds", () => {
    const a = uniformTensor([100], createRng(7), 0, 1);
    const b = uniformTensor([100], createRng(7), 0, 1);
    const c = uniformTensor([100], createRng(8), 0, 1);
    expect(a.data).toEqual(b.data);
    expect(a.data).not.toEqual(c.data);
  });

  it("normal samples have mean ≈ 0 and std ≈ 1 (n = 20000: 5σ bounds 0.035 and 0.025)", () => {
    const t = normalTensor([20000], createRng(3), 1);
    const mean = t.data.reduce((s, v) => s + v, 0) / t.data.length;
    const std = Math.sqrt(t.data.reduce((s, v) => s + (v - mean) ** 2, 0) / t.data.length);
    expect(Math.abs(mean)).toBeLessThan(0.035);
    expect(Math.abs(std - 1)).toBeLessThan(0.025);
  });

  it("uses torch's fan-in rule", () => {
    expect(fanIn([16, 8])).toBe(8);
    expect(fanIn([16, 8, 3, 3])).toBe(72);
    expect(() => fanIn([4])).toThrow(KernelsError);
  });

  it("kaimingUniform(a=√5) is U(-1/sqrt(fanIn), 1/sqrt(fanIn))", () => {
    const t = kaimingUniform([64, 16, 3, 3], createRng(1));
    const bound = 1 / Math.sqrt(144);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of t.data) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    // 9216 samples: the extremes fall within 1% of the bound with overwhelming probability.
    expect(hi).toBeLessThanOrEqual(bound);
    expect(lo).toBeGreaterThanOrEqual(-bound);
    expect(hi).toBeGreaterThan(0.99 * bound);
    expect(lo).toBeLessThan(-0.99 * bound);
    const t0 = kaimingUniform([4, 4], createRng(1), 0);
    expect(Math.max(...t0.data.map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / 4));
  });
});
