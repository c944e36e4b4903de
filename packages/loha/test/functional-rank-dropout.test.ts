import { createRng } from "@lycoris-ts/kernels";
import type { AdapterContext } from "@lycoris-ts/runtime";
import { describe, expect, it } from "vitest";
import { LoHaConfig } from "../src/loha-config";
import { lohaVariant } from "../src/loha-variant";

// PEFT LoHa: keep row i iff rand() > p, then ALWAYS divide the 0/1 mask by its mean (LoHa has no
// `rank_dropout_scale`). The mask itself is the runtime's `rankDropoutMask` (tested there); this checks
// that LoHa's variant asks for the mean-scaled form.
function ctx(rankDropout: number, rows: number): AdapterContext<LoHaConfig> {
  return {
    config: new LoHaConfig({ r: 2, rankDropout }),
    r: 2,
    alpha: 2,
    layer: {
      kind: "linear",
      outFeatures: rows,
      inFeatures: 3,
      kernelSize: [],
      groups: 1,
      weightShape: [rows, 3],
      conv: null,
    },
  };
}

describe("LoHa rank dropout (PEFT LoHa semantics)", () => {
  it("rescales kept rows by 1/mean, so the mask averages to exactly 1", () => {
    const m = lohaVariant.rankDropoutMask!(ctx(0.3, 1000), createRng(2))!;
    const kept = [...m].filter((v) => v !== 0);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(1000);
    // every kept row carries the same weight rows/kept (stored as float32: 1e-6 relative slack)
    const w = 1000 / kept.length;
    for (const v of kept) expect(Math.abs(v - w)).toBeLessThanOrEqual(1e-6 * w);
  });
  it("uses one uniform draw per row, in row order (same seed ⇒ same mask)", () => {
    const rng = createRng(4);
    const draws = Array.from({ length: 8 }, () => rng.uniform());
    const m = lohaVariant.rankDropoutMask!(ctx(0.5, 8), createRng(4))!;
    expect([...m].map((v) => v !== 0)).toEqual(draws.map((u) => u > 0.5));
  });
  it("p = 1 drops every row and returns zeros (PEFT would produce NaN from 0/0)", () => {
    expect([...lohaVariant.rankDropoutMask!(ctx(1, 5), createRng(5))!]).toEqual([0, 0, 0, 0, 0]);
  });
});
