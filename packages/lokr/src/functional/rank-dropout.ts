import type { Rng } from "@lycoris-ts/kernels";

/**
 * PEFT's LoKr rank dropout mask over the output rows of ΔW: row `i` is kept (1) iff `rng.uniform() > p`, else
 * dropped (0); with `scaleByMean` (PEFT's `rank_dropout_scale`) the mask is divided by its mean.
 *
 * If every row is dropped and `scaleByMean` is set, PEFT divides by a zero mean and produces NaN; this returns an
 * all-zero mask instead (documented in docs/peft-differences.md).
 *
 * @param rows - The number of output rows (`out_features` / `out_channels`).
 * @param p - The drop probability, in `[0, 1]`.
 */
export function rankDropoutMask(rows: number, p: number, scaleByMean: boolean, rng: Rng): Float32Array {
  if (!Number.isInteger(rows) || rows < 0)
    throw new RangeError(`rankDropoutMask: rows must be >= 0, got ${rows}`);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`rankDropoutMask: p must be in [0, 1], got ${p}`);
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
