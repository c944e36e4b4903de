import { createRng, matmul, qr, type Tensor } from "@lycoris-ts/kernels";
import { describe, expect, it } from "vitest";
import { AdapterError, extractionSvd, type RankSelection, selectExtractionRank } from "../src/index";

/**
 * The LyCORIS rule written out independently (extract_locon): count, then clamp to [1, p]. `s` is the whole
 * spectrum, descending.
 */
function lycorisRank(s: readonly number[], sel: RankSelection): number {
  let n: number;
  if (sel.mode === "fixed") n = sel.rank;
  else if (sel.mode === "threshold") n = s.filter((x) => x > sel.threshold).length;
  else if (sel.mode === "ratio") n = s.filter((x) => x > sel.ratio * Math.max(...s)).length;
  else {
    const total = s.reduce((a, b) => a + b, 0);
    let running = 0;
    n = s.filter((x) => {
      running += x;
      return running < sel.quantile * total;
    }).length;
  }
  return Math.min(s.length, Math.max(1, n));
}

/** A float32 `m × n` matrix `U·diag(s)·Vᵀ` with seeded orthonormal U, V: its singular values are `s`. */
function withSpectrum(m: number, n: number, s: readonly number[], seed: number): Tensor<Float32Array> {
  const rng = createRng(seed);
  const gauss = (rows: number, cols: number) => ({
    data: Float64Array.from({ length: rows * cols }, () => rng.normal()),
    shape: [rows, cols],
  });
  const p = s.length;
  const u = qr(gauss(m, p)).q;
  const v = qr(gauss(n, p)).q;
  const us = Float64Array.from(u.data, (x, i) => x * s[i % p]!);
  return {
    data: Float32Array.from(matmul({ data: us, shape: [m, p] }, v, { transB: true }).data),
    shape: [m, n],
  };
}

describe("selectExtractionRank (LyCORIS's extract_locon modes)", () => {
  const s = [10, 5, 2, 1, 0.5];
  const cases: RankSelection[] = [
    { mode: "fixed", rank: 3 },
    { mode: "fixed", rank: 9 },
    { mode: "threshold", threshold: 1.5 },
    { mode: "threshold", threshold: 100 },
    { mode: "ratio", ratio: 0.15 },
    { mode: "ratio", ratio: 0 },
    { mode: "quantile", quantile: 0.8 },
    { mode: "quantile", quantile: 0.95 },
    { mode: "quantile", quantile: 1 },
  ];
  for (const sel of cases)
    it(`${JSON.stringify(sel)} keeps what LyCORIS keeps`, () => {
      expect(selectExtractionRank(s, sel)).toBe(lycorisRank(s, sel));
    });

  it("refuses invalid selections with AdapterError invalid_rank naming the option", () => {
    for (const [sel, field] of [
      [{ mode: "fixed", rank: 0 }, "rank"],
      [{ mode: "fixed", rank: 1.5 }, "rank"],
      [{ mode: "threshold", threshold: Number.NaN }, "threshold"],
      [{ mode: "threshold", threshold: -1 }, "threshold"],
      [{ mode: "ratio", ratio: 1.1 }, "ratio"],
      [{ mode: "quantile", quantile: -0.1 }, "quantile"],
    ] as const) {
      expect(() => selectExtractionRank(s, sel)).toThrow(AdapterError);
      expect(() => selectExtractionRank(s, sel)).toThrow(
        expect.objectContaining({ kind: "invalid_rank", field }),
      );
    }
  });
});

describe("extractionSvd", () => {
  // Cutoffs lie between singular values (a geometric spectrum, factor 0.8): float32 products (~1e-6 relative)
  // cannot move a value across them, so the rank must equal the rule applied to the known spectrum.
  const geometric = Array.from({ length: 200 }, (_, i) => 0.8 ** i);
  const a = withSpectrum(300, 200, geometric, 4);
  const cases: RankSelection[] = [
    { mode: "fixed", rank: 12 },
    { mode: "threshold", threshold: 0.05 * 1.05 },
    { mode: "ratio", ratio: 0.01 * 1.05 },
    { mode: "quantile", quantile: 0.5 },
    { mode: "quantile", quantile: 0.99 },
  ];
  for (const sel of cases)
    it(`randomized path, ${JSON.stringify(sel)}: the rank of the known spectrum, the truncation's tail error`, () => {
      const { svd, rank } = extractionSvd(a, sel);
      expect(rank).toBe(lycorisRank(geometric, sel));
      const { u, s, v } = svd.leading(rank);
      const us = Float64Array.from(u.data, (x, i) => x * s[i % rank]!);
      const approx = matmul({ data: us, shape: [300, rank] }, v, { transB: true }).data;
      let diff = 0;
      let norm = 0;
      for (let i = 0; i < a.data.length; i++) {
        diff += (a.data[i]! - approx[i]!) ** 2;
        norm += a.data[i]! ** 2;
      }
      const tail = Math.sqrt(
        geometric.slice(rank).reduce((x, y) => x + y * y, 0) / geometric.reduce((x, y) => x + y * y, 0),
      );
      // The best rank-k error is the tail energy; float32 input adds ~1e-7 relative noise, 1e-5 allows it.
      expect(Math.abs(Math.sqrt(diff / norm) - tail)).toBeLessThan(1e-5);
    }, 60_000);

  it("a flat spectrum whose quantile needs most of it falls back to a full SVD", () => {
    const flat = Array.from({ length: 140 }, (_, i) => 1 + 0.001 * (140 - i));
    const b = withSpectrum(150, 140, flat, 8);
    const sel: RankSelection = { mode: "quantile", quantile: 0.5 };
    // min(150, 140) = 140 > the dense limit: the randomized captures (40, then 136 > 70) cannot decide.
    expect(extractionSvd(b, sel).rank).toBe(lycorisRank(flat, sel));
  }, 60_000);
});
