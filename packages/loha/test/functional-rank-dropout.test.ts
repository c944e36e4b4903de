import { createRng } from "@lycoris-ts/kernels";
import { describe, expect, it } from "vitest";
import { LoHaMathError, lohaRankDropoutMask } from "../src/functional/index";

// PEFT LoHa: keep row i iff rand() > p, then ALWAYS divide the 0/1 mask by its mean.
describe("lohaRankDropoutMask (PEFT LoHa semantics)", () => {
  it("p = 0 keeps every row with weight exactly 1", () => {
    expect([...lohaRankDropoutMask(17, 0, createRng(1))]).toEqual(new Array(17).fill(1));
  });
  it("rescales kept rows by 1/mean, so the mask averages to exactly 1", () => {
    const m = lohaRankDropoutMask(1000, 0.3, createRng(2));
    const kept = [...m].filter((v) => v !== 0);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(1000);
    // every kept row carries the same weight rows/kept (stored as float32: 1e-6 relative slack)
    const w = 1000 / kept.length;
    for (const v of kept) expect(Math.abs(v - w)).toBeLessThanOrEqual(1e-6 * w);
    const mean = [...m].reduce((a, b) => a + b, 0) / 1000;
    expect(Math.abs(mean - 1)).toBeLessThanOrEqual(1e-6);
  });
  it("keeps about 1 − p of the rows", () => {
    const m = lohaRankDropoutMask(20000, 0.3, createRng(3));
    const frac = [...m].filter((v) => v !== 0).length / 20000;
    // binomial standard error √(0.21/20000) ≈ 0.0032: a 0.02 band (6σ) never fails by chance but
    // catches an inverted rate (0.3 instead of 0.7).
    expect(Math.abs(frac - 0.7)).toBeLessThan(0.02);
  });
  it("uses one uniform draw per row, in row order (same seed ⇒ same mask)", () => {
    const rng = createRng(4);
    const draws = Array.from({ length: 8 }, () => rng.uniform());
    const m = lohaRankDropoutMask(8, 0.5, createRng(4));
    expect([...m].map((v) => v !== 0)).toEqual(draws.map((u) => u > 0.5));
  });
  it("p = 1 drops every row and returns zeros (PEFT would produce NaN from 0/0)", () => {
    expect([...lohaRankDropoutMask(5, 1, createRng(5))]).toEqual([0, 0, 0, 0, 0]);
  });
  it("rejects p outside [0, 1] and non-positive row counts", () => {
    expect(() => lohaRankDropoutMask(4, -0.1, createRng(1))).toThrow(LoHaMathError);
    expect(() => lohaRankDropoutMask(4, 1.5, createRng(1))).toThrow(LoHaMathError);
    expect(() => lohaRankDropoutMask(0, 0.1, createRng(1))).toThrow(LoHaMathError);
  });
});
