import { AdapterError } from "../errors";

/** Internal: throws {@link AdapterError} (`invalid_state`) when a singular value is not finite (ΔW has NaN/∞). */
export function expectFiniteSingularValues(singularValues: ArrayLike<number>): void {
  for (let i = 0; i < singularValues.length; i++) {
    const s = singularValues[i]!;
    if (!Number.isFinite(s)) {
      throw new AdapterError("invalid_state", `singular value ${i} of ΔW is ${s}: ΔW is not finite`, {
        field: "singularValues",
        expected: "finite values",
        received: String(s),
      });
    }
  }
}

/**
 * PEFT's energy-threshold rank (`_find_cutoff_index`), reproduced in float32 as PEFT computes it on the CPU:
 * `eᵢ = f32(Sᵢ²)` of the float32 singular values, running sums `cⱼ = f32(Σ_{i≤j} eᵢ)` (accumulated in float64,
 * rounded after every step, like torch's CPU `cumsum`), `cutoff = f32(f32(t)·c_{n−1})`, and
 * `k = 1 + (the first j with cⱼ ≥ cutoff)`: the smallest k whose leading singular values keep at least the
 * fraction `t` of the energy. With `t = 1` the decision falls where the float32 running sum first equals the
 * float32 total, so singular values below float32 resolution do not count — the decisions at 1.0 (and any
 * whose energy fraction is within ~1e-6 of `t`) depend on float rounding and may differ from another SVD's.
 *
 * `singularValues` must be descending (all of them: the total needs every one). Throws {@link AdapterError}
 * (`invalid_state`) when one is not finite.
 */
export function thresholdRank(singularValues: ArrayLike<number>, threshold: number): number {
  const n = singularValues.length;
  if (n === 0) {
    throw new AdapterError("invalid_state", "cannot choose a rank from an empty list of singular values", {
      field: "singularValues",
      expected: "at least one singular value",
      received: "none",
    });
  }
  expectFiniteSingularValues(singularValues);
  const cumsum = new Float32Array(n);
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const s = Math.fround(singularValues[i]!);
    acc += Math.fround(s * s);
    cumsum[i] = acc;
  }
  const cutoff = Math.fround(Math.fround(threshold) * cumsum[n - 1]!);
  // torch.searchsorted (left): the first index with cumsum ≥ cutoff; cumsum is non-decreasing.
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumsum[mid]! < cutoff) lo = mid + 1;
    else hi = mid;
  }
  return lo + 1;
}
