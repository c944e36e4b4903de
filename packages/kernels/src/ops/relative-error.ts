import type { FloatArray } from "../tensor";
import { expect } from "./check";

/**
 * `‖reference − approximation‖_F / ‖reference‖_F` over two equally long arrays, summed in float64 (0 when both
 * are zero, `Infinity` when only the reference is).
 */
export function relativeError(reference: FloatArray, approximation: FloatArray): number {
  expect(
    "relativeError",
    reference.length === approximation.length,
    `lengths differ: ${reference.length} and ${approximation.length}`,
  );
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i]!;
    const d = r - approximation[i]!;
    diff += d * d;
    norm += r * r;
  }
  if (norm === 0) return diff === 0 ? 0 : Number.POSITIVE_INFINITY;
  return Math.sqrt(diff / norm);
}
