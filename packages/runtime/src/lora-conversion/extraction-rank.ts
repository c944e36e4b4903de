import { AdapterError } from "../errors";
import type { RankSelection } from "../registry/delta-extraction";
import { expectFiniteSingularValues } from "./threshold-rank";

function refuse(field: string, expected: string, received: unknown): never {
  throw new AdapterError("invalid_rank", `${field} must be ${expected}, got ${String(received)}`, {
    field,
    expected,
    received: String(received),
  });
}

/**
 * Checks a {@link RankSelection}: a positive integer rank, a finite threshold `≥ 0`, a ratio or quantile in
 * `[0, 1]`. Throws {@link AdapterError} (`invalid_rank`) naming the option.
 */
export function checkRankSelection(selection: RankSelection): RankSelection {
  switch (selection.mode) {
    case "fixed":
      if (!Number.isSafeInteger(selection.rank) || selection.rank < 1)
        refuse("rank", "a positive integer", selection.rank);
      return selection;
    case "threshold":
      if (!(Number.isFinite(selection.threshold) && selection.threshold >= 0))
        refuse("threshold", "a finite number >= 0", selection.threshold);
      return selection;
    case "ratio":
      if (!(selection.ratio >= 0 && selection.ratio <= 1))
        refuse("ratio", "a number in [0, 1]", selection.ratio);
      return selection;
    case "quantile":
      if (!(selection.quantile >= 0 && selection.quantile <= 1))
        refuse("quantile", "a number in [0, 1]", selection.quantile);
      return selection;
    default:
      return refuse("mode", "fixed, threshold, ratio or quantile", (selection as { mode: unknown }).mode);
  }
}

/**
 * LyCORIS's count for a selection before clamping, from the leading singular values `s` (descending) and,
 * for `quantile`, the sum of all of them (`sumAll`, which may include values beyond `s`).
 */
export function selectionCount(s: ArrayLike<number>, selection: RankSelection, sumAll = 0): number {
  const countAbove = (cutoff: number): number => {
    let n = 0;
    while (n < s.length && s[n]! > cutoff) n++;
    return n;
  };
  switch (selection.mode) {
    case "fixed":
      return selection.rank;
    case "threshold":
      return countAbove(selection.threshold);
    case "ratio":
      return countAbove(selection.ratio * (s[0] ?? 0));
    case "quantile": {
      const cutoff = selection.quantile * sumAll;
      let running = 0;
      let n = 0;
      while (n < s.length) {
        running += s[n]!;
        if (!(running < cutoff)) break;
        n++;
      }
      return n;
    }
  }
}

/**
 * The rank LyCORIS's `extract_locon` keeps for a selection, from all `min(out, in)` singular values of ΔW
 * (descending): {@link selectionCount}, clamped to `[1, min(out, in)]`. Throws {@link AdapterError}
 * (`invalid_rank`) for an invalid selection, (`invalid_state`) for non-finite singular values.
 */
export function selectExtractionRank(singularValues: ArrayLike<number>, selection: RankSelection): number {
  checkRankSelection(selection);
  expectFiniteSingularValues(singularValues);
  let sum = 0;
  for (let i = 0; i < singularValues.length; i++) sum += singularValues[i]!;
  const count = selectionCount(singularValues, selection, sum);
  return Math.min(singularValues.length, Math.max(1, count));
}
