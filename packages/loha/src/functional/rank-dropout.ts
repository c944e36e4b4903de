import type { Rng } from "@lycoris-ts/kernels";
import { LoHaMathError } from "./loha-math-error";

/**
 * Rank-dropout mask over the output rows of ΔW, with PEFT LoHa's semantics: row `i` is kept when
 * a uniform draw is `> p` (torch: `torch.rand(rows) > rank_dropout`), and the 0/1 mask is then
 * **always** divided by its mean (PEFT's LoHa has no `rank_dropout_scale` switch, unlike LoKr).
 * The result multiplies ΔW row-wise (`ΔW ← diag(mask)·ΔW`); use it only in training mode.
 *
 * `p = 0` gives all ones. If every row is dropped PEFT divides 0 by 0 and gets NaN; this function
 * returns all zeros instead (the adapter contributes nothing for that step).
 */
export function lohaRankDropoutMask(rows: number, p: number, rng: Rng): Float32Array {
  if (!Number.isInteger(rows) || rows <= 0) {
    throw new LoHaMathError(`rows must be a positive integer, got ${rows}`, {
      field: "rows",
      expected: "positive integer",
      received: String(rows),
    });
  }
  if (!(p >= 0 && p <= 1)) {
    throw new LoHaMathError(`rank_dropout must be in [0, 1], got ${p}`, {
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
      kept++;
    }
  }
  if (kept === 0) return mask;
  const mean = kept / rows;
  for (let i = 0; i < rows; i++) mask[i] = (mask[i] ?? 0) / mean;
  return mask;
}
