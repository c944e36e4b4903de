import { AdapterError } from "../errors";
import { type LoraRank, resolveLoraRank } from "./lora-rank";
import { expectFiniteSingularValues, thresholdRank } from "./threshold-rank";

/**
 * The rank of one layer's LoRA: the fixed rank, or {@link thresholdRank} of its singular values (all
 * `min(out, in)` of them, descending). The rank is checked as {@link resolveLoraRank} does, and a rank larger
 * than `min(out, in)` is refused with PEFT's message ({@link AdapterError} `invalid_rank`); `module` only goes
 * into the error's field. Non-finite singular values (a ΔW with NaN or ∞) are refused (`invalid_state`).
 */
export function selectLoraRank(
  singularValues: ArrayLike<number>,
  rank: number | LoraRank,
  module = "ΔW",
): number {
  const spec = resolveLoraRank(rank);
  expectFiniteSingularValues(singularValues);
  const k = "rank" in spec ? spec.rank : thresholdRank(singularValues, spec.threshold);
  const max = singularValues.length;
  if (k > max) {
    throw new AdapterError(
      "invalid_rank",
      `The chosen rank ${k} is larger than the weight shape (${max}), please choose a lower rank.`,
      { field: module, expected: `a rank of at most ${max}`, received: String(k) },
    );
  }
  return k;
}
