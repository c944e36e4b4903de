/** How well a rank-k truncation keeps ΔW, from its singular values alone. */
export interface LowRankReport {
  /** The rank k. */
  readonly rank: number;
  /** `Σ_{i<k} Sᵢ² / Σ Sᵢ²` (1 for ΔW = 0). */
  readonly energyKept: number;
  /** `‖ΔW − B·A‖_F / ‖ΔW‖_F = sqrt(Σ_{i≥k} Sᵢ² / Σ Sᵢ²)` (0 for ΔW = 0). */
  readonly relativeError: number;
}

/**
 * The energy kept and the relative Frobenius error of the best rank-k approximation, computed from all the
 * singular values (float64; the dropped tail is summed on its own, so a tiny error is not lost to
 * cancellation). No ΔW needed.
 */
export function lowRankReport(singularValues: ArrayLike<number>, rank: number): LowRankReport {
  let kept = 0;
  let tail = 0;
  for (let i = singularValues.length - 1; i >= 0; i--) {
    const e = singularValues[i]! * singularValues[i]!;
    if (i < rank) kept += e;
    else tail += e;
  }
  const total = kept + tail;
  if (total === 0) return { rank, energyKept: 1, relativeError: 0 };
  return { rank, energyKept: kept / total, relativeError: Math.sqrt(tail / total) };
}
