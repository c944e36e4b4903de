import { type FloatArray, formatShape, type Rng, type Tensor } from "@lycoris-ts/kernels";
import { AdapterError } from "../errors";

/**
 * PEFT's rank-dropout keep mask over the output rows of ΔW: row `i` is kept (1) iff `rng.uniform() > p`
 * (one draw per row, in row order), else dropped (0). With `scaleByMean` the mask is divided by its mean
 * (LoKr's `rank_dropout_scale`; PEFT's LoHa always does it).
 *
 * If every row is dropped and `scaleByMean` is set, PEFT divides by a zero mean and produces NaN; this
 * returns an all-zero mask instead (docs/peft-differences.md).
 *
 * @param rows - The number of output rows (`out_features` / `out_channels`), a positive integer.
 * @param p - The drop probability, in `[0, 1]`.
 */
export function rankDropoutMask(rows: number, p: number, scaleByMean: boolean, rng: Rng): Float32Array {
  if (!(Number.isInteger(rows) && rows > 0)) {
    throw new AdapterError(
      "invalid_argument",
      `rankDropoutMask: rows must be a positive integer, got ${rows}`,
      {
        field: "rows",
        expected: "a positive integer",
        received: String(rows),
      },
    );
  }
  if (!(p >= 0 && p <= 1)) {
    throw new AdapterError("invalid_argument", `rankDropoutMask: rank_dropout must be in [0, 1], got ${p}`, {
      field: "rank_dropout",
      expected: "0 <= p <= 1",
      received: String(p),
    });
  }
  const mask = new Float32Array(rows);
  let kept = 0;
  for (let i = 0; i < rows; i++) {
    if (rng.uniform() > p) {
      mask[i] = 1;
      kept += 1;
    }
  }
  if (scaleByMean && kept > 0) {
    const inv = rows / kept;
    for (let i = 0; i < rows; i++) mask[i] = mask[i]! * inv;
  }
  return mask;
}

/**
 * Multiplies output channel `c` of a layer output (or of its gradient) by `mask[c]`, in place: the last
 * axis of a linear output `[..., out]`, axis 1 of a convolution output `[N, out, ...spatial]`. Masking the
 * output channels is the same as masking the rows of ΔW (`linear(x, diag(m)·ΔW) = m ⊙ linear(x, ΔW)`), so
 * rank dropout never needs the variant's cooperation.
 */
export function applyRowMask(t: Tensor<FloatArray>, mask: Float32Array, linear: boolean): void {
  const d = t.data;
  const rows = mask.length;
  const channels = linear ? t.shape[t.shape.length - 1] : t.shape[1];
  if (channels !== rows) {
    throw new AdapterError(
      "shape_mismatch",
      `a rank-dropout mask of ${rows} rows does not fit an output of shape ${formatShape(t.shape)}`,
      { field: "rowMask", expected: `${channels} entries`, received: `${rows} entries` },
    );
  }
  if (linear) {
    for (let i = 0; i < d.length; i++) d[i] = d[i]! * mask[i % rows]!;
    return;
  }
  const n = t.shape[0]!;
  const spatial = d.length / (n * rows);
  for (let b = 0; b < n; b++) {
    for (let c = 0; c < rows; c++) {
      const m = mask[c]!;
      if (m === 1) continue;
      const off = (b * rows + c) * spatial;
      for (let s = 0; s < spatial; s++) d[off + s] = d[off + s]! * m;
    }
  }
}
