import { LoKrError } from "./errors";

/**
 * Splits `dimension` into two factors exactly as PEFT's (and LyCORIS's) LoKr `factorization` does.
 *
 * - If `factor > 0` divides `dimension`, the result is `[factor, dimension / factor]`, **unsorted**: PEFT
 *   returns e.g. `(64, 2)` for `factorization(128, 64)`, and the LoKr parameter shapes follow that order.
 * - Otherwise divisors are searched upwards from 1 while the first factor stays `<= factor`
 *   (`factor = -1` means "no limit", i.e. the most balanced split) and the sum of the two factors does not
 *   exceed `1 + dimension`; the result is then sorted so that the first element is the smaller.
 * - Any other non-positive `factor` (0, -2, ...) yields `[1, dimension]`, as in PEFT.
 *
 * @param dimension - A positive integer (a layer's in or out size).
 * @param factor - PEFT's `decompose_factor`; `-1` (default) for the most balanced split.
 * @returns `[m, n]` with `m * n === dimension`.
 */
export function factorization(dimension: number, factor = -1): [number, number] {
  if (!Number.isInteger(dimension) || dimension < 1) {
    throw new LoKrError(
      "invalid_argument",
      `factorization: dimension must be a positive integer, got ${dimension}`,
      { field: "dimension", expected: "a positive integer", received: String(dimension) },
    );
  }
  if (!Number.isInteger(factor)) {
    throw new LoKrError("invalid_argument", `factorization: factor must be an integer, got ${factor}`, {
      field: "decompose_factor",
      expected: "an integer (-1 for the most balanced split)",
      received: String(factor),
    });
  }
  if (factor > 0 && dimension % factor === 0) {
    return [factor, dimension / factor];
  }
  const limit = factor === -1 ? dimension : factor;
  let m = 1;
  let n = dimension;
  const length = m + n;
  while (m < n) {
    let nextM = m + 1;
    while (dimension % nextM !== 0) nextM += 1;
    const nextN = dimension / nextM;
    if (nextM + nextN > length || nextM > limit) break;
    m = nextM;
    n = nextN;
  }
  return m > n ? [n, m] : [m, n];
}
