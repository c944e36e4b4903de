import {
  type ConvOptions,
  conv1d,
  conv2d,
  createRng,
  matmul,
  type Tensor,
  tensor,
} from "@lycoris-ts/kernels";
import { describe, expect, it } from "vitest";
import { applyRowMask } from "../src/adapter/rank-dropout";
import { AdapterError, rankDropoutMask } from "../src/index";

// The one home of rank dropout: every variant's mask is drawn here (LoKr: scaled by the mean only with
// `rank_dropout_scale`; LoHa: always) and the layer applies it to the output channels.
describe("rankDropoutMask (PEFT's `torch.rand(rows) > p`, optionally divided by its mean)", () => {
  it("p = 0 keeps every row with weight exactly 1; p = 1 drops every row (zeros, not PEFT's 0/0 NaN)", () => {
    for (const scaleByMean of [false, true]) {
      expect([...rankDropoutMask(17, 0, scaleByMean, createRng(1))]).toEqual(new Array(17).fill(1));
      expect([...rankDropoutMask(5, 1, scaleByMean, createRng(1))]).toEqual([0, 0, 0, 0, 0]);
    }
  });

  it("uses one uniform draw per row, in row order (same seed ⇒ same mask)", () => {
    const rng = createRng(4);
    const draws = Array.from({ length: 12 }, () => rng.uniform());
    const m = rankDropoutMask(12, 0.5, false, createRng(4));
    expect([...m]).toEqual(draws.map((u) => (u > 0.5 ? 1 : 0)));
  });

  it("keeps about 1 − p of the rows, and the scaled mask averages to 1", () => {
    const rows = 20000;
    const raw = rankDropoutMask(rows, 0.3, false, createRng(3));
    const kept = raw.reduce((a, b) => a + b, 0);
    // binomial standard error √(0.21/20000) ≈ 0.0032: a 0.02 band (6σ) never fails by chance but
    // catches an inverted rate (0.3 instead of 0.7).
    expect(Math.abs(kept / rows - 0.7)).toBeLessThan(0.02);
    const scaled = rankDropoutMask(rows, 0.3, true, createRng(3));
    // every kept row carries rows/kept, stored as float32: 1e-6 relative slack
    const w = rows / kept;
    const off = scaled.filter((v, i) => v !== (raw[i] === 0 ? 0 : Math.fround(w)));
    expect(off.length).toBe(0);
    expect(Math.abs(scaled.reduce((a, b) => a + b, 0) / rows - 1)).toBeLessThan(1e-6);
  });

  it("rejects a drop probability outside [0, 1] and a row count that is not a positive integer", () => {
    for (const [rows, p, field] of [
      [4, -0.1, "rank_dropout"],
      [4, 1.5, "rank_dropout"],
      [4, Number.NaN, "rank_dropout"],
      [0, 0.1, "rows"],
      [2.5, 0.1, "rows"],
    ] as const) {
      const run = () => rankDropoutMask(rows, p, true, createRng(1));
      expect(run).toThrow(AdapterError);
      expect(run).toThrow(expect.objectContaining({ kind: "invalid_argument", field }));
    }
  });
});

function random(shape: number[], seed: number): Tensor<Float64Array> {
  const rng = createRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(
    Float64Array.from({ length: n }, () => rng.normal()),
    shape,
  );
}

/** `diag(mask)·w`: the rows of ΔW masked, computed independently of {@link applyRowMask}. */
function maskRows(w: Tensor<Float64Array>, mask: Float32Array): Tensor<Float64Array> {
  const per = w.data.length / mask.length;
  return tensor(
    w.data.map((v, i) => v * mask[Math.floor(i / per)]!),
    w.shape,
  );
}

const maxAbsDiff = (a: Float64Array, b: Float64Array) =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe("applyRowMask: masking the output channels equals masking the rows of ΔW", () => {
  // float64 throughout; the two sides differ only in where the product by mask[c] happens, so they agree
  // to rounding (1e-12 on values of order 10) and any wrong channel index gives errors of order 1.
  const TOL = 1e-12;
  const mask = rankDropoutMask(6, 0.5, true, createRng(9));

  it("linear, with leading batch dims", () => {
    const w = random([6, 5], 1);
    const x = random([2, 3, 5], 2);
    const y = matmul(tensor(x.data, [6, 5]), w, { transB: true });
    applyRowMask(y, mask, true);
    const want = matmul(tensor(x.data, [6, 5]), maskRows(w, mask), { transB: true });
    expect(maxAbsDiff(y.data, want.data)).toBeLessThan(TOL);
  });

  for (const [kind, wShape, xShape] of [
    ["conv1d", [6, 3, 3], [2, 3, 7]],
    ["conv2d", [6, 3, 3, 2], [2, 3, 5, 4]],
  ] as const) {
    it(kind, () => {
      const spatial = wShape.length - 2;
      const o: ConvOptions = {
        stride: new Array(spatial).fill(1),
        padding: new Array(spatial).fill(1),
        dilation: new Array(spatial).fill(1),
        groups: 1,
        paddingMode: "reflect",
      };
      const conv = kind === "conv1d" ? conv1d : conv2d;
      const w = random([...wShape], 3);
      const x = random([...xShape], 4);
      const y = conv(x, w, null, o);
      applyRowMask(y, mask, false);
      expect(maxAbsDiff(y.data, conv(x, maskRows(w, mask), null, o).data)).toBeLessThan(TOL);
    });
  }

  it("refuses a mask whose length is not the number of output channels", () => {
    const y = random([2, 4, 3], 5);
    expect(() => applyRowMask(y, mask, false)).toThrow(
      expect.objectContaining({ kind: "shape_mismatch", field: "rowMask", expected: "4 entries" }),
    );
  });
});
