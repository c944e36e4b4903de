/** Cumulative energy Σ_{i≤k} σᵢ² / Σ σᵢ² for k = 1..n (all ones for ΔW = 0). */
export function energyCurve(singularValues: readonly number[]): number[] {
  const total = singularValues.reduce((a, s) => a + s * s, 0);
  let kept = 0;
  return singularValues.map((s) => {
    kept += s * s;
    return total === 0 ? 1 : kept / total;
  });
}

/** The smallest rank whose energy reaches `fraction` (0 for ΔW = 0). */
export function rankForEnergy(curve: readonly number[], fraction: number): number {
  const i = curve.findIndex((e) => e >= fraction - 1e-12);
  return i < 0 ? curve.length : i + 1;
}
