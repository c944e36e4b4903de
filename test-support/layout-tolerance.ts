// FORMAT.md's tolerance for the key-layout fixtures (fixtures/lycoris-layouts), shared by the tests that
// compare merged weights with ComfyUI's. Not part of any package.
import { fileURLToPath } from "node:url";

/** The repository's copy of the key-layout fixtures. */
export const LAYOUT_FIXTURES = fileURLToPath(new URL("../fixtures/lycoris-layouts/", import.meta.url));

/**
 * Largest violation of |a − e| ≤ 1e-5·max|e| + 1e-6 over a tensor (≤ 0: within tolerance): ComfyUI's
 * float32 on CPU against our float32 factors with float64 DoRA norms; a wrong rule or slice is far off.
 */
export function layoutExcess(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(expected[i]!));
  let worst = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) - (1e-5 * max + 1e-6));
  }
  return worst;
}
