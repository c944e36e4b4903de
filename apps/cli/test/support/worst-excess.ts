/**
 * Largest violation of |actual − expected| ≤ 1e-5·(1 + |expected|), elementwise (≤ 0: every element is
 * within the bound). Each test says why this bound fits its reference.
 */
export function worstExcess(actual: Float32Array, expected: Float32Array): number {
  let worst = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    worst = Math.max(worst, Math.abs(actual[i]! - e) - 1e-5 * (1 + Math.abs(e)));
  }
  return worst;
}
