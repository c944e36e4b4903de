import { createRng } from "../rng";
import type { FloatArray, Tensor } from "../tensor";
import { expect, expectRank } from "./check";
import { applyQ, householderQr } from "./householder-qr";
import type { LazySvd } from "./lazy-svd";
import { productSvd } from "./product-svd";

/** Options of {@link randomizedSvd}. */
export interface RandomizedSvdOptions {
  /** Extra random directions beyond `k` (default 8): more make the leading `k` triplets more accurate. */
  readonly oversample?: number;
  /** Subspace (power) iterations (default 2): each sharpens the captured subspace when the spectrum decays slowly. */
  readonly powerIterations?: number;
  /** Seed of the Gaussian test matrix (default 0): the result is deterministic for a given seed. */
  readonly seed?: number;
}

/** An orthonormal basis (row-major `rows × cols`, float64) of the columns of `y` (`y` is overwritten). */
function orthonormalBasis(y: Float64Array, rows: number, cols: number): Float64Array {
  const colMajor = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) colMajor[j * rows + i] = y[i * cols + j]!;
  const f = householderQr(colMajor, rows, cols);
  const identity = new Float64Array(cols * cols);
  for (let i = 0; i < cols; i++) identity[i * cols + i] = 1;
  return applyQ(f, identity, cols);
}

/**
 * `op(a)·q` with float64 sums (`q` float64 `[*, l]`), read straight from `a`'s float32 or float64 data: a float32
 * sum over a long inner dimension would lose ~√n·2⁻²⁴ relative accuracy, too much for an exact recovery.
 * Plain loops in row order (no copy of `a`).
 */
function times(a: Tensor<FloatArray>, q: Float64Array, l: number, transA: boolean): Float64Array {
  const [m, n] = [a.shape[0]!, a.shape[1]!];
  const d = a.data;
  const out = new Float64Array((transA ? n : m) * l);
  const acc = new Float64Array(l);
  for (let i = 0; i < m; i++) {
    const row = i * n;
    if (transA) {
      // (Aᵀ·Q)[j, :] += A[i, j] · Q[i, :]
      const qi = q.subarray(i * l, i * l + l);
      for (let j = 0; j < n; j++) {
        const x = d[row + j]!;
        if (x === 0) continue;
        const o = j * l;
        for (let t = 0; t < l; t++) out[o + t] = out[o + t]! + x * qi[t]!;
      }
    } else {
      // (A·Q)[i, :] = Σ_j A[i, j] · Q[j, :]
      acc.fill(0);
      for (let j = 0; j < n; j++) {
        const x = d[row + j]!;
        if (x === 0) continue;
        const o = j * l;
        for (let t = 0; t < l; t++) acc[t] = acc[t]! + x * q[o + t]!;
      }
      out.set(acc, i * l);
    }
  }
  return out;
}

/**
 * The leading singular triplets of a 2-D matrix by randomized subspace iteration (Halko, Martinsson & Tropp):
 * `Y = A·Ω` for a seeded Gaussian `Ω` with `l = k + oversample` columns, `powerIterations` rounds of
 * `Q ← orth(A·orth(Aᵀ·Q))`, then the exact SVD of `Q·(QᵀA)` ({@link productSvd}). Everything sums in float64:
 * the products with `A` read its float32 or float64 data directly (plain loops; a float32 sum over a long
 * inner dimension would cost the exact recoveries their accuracy). Costs about
 * `2·(1 + powerIterations)·rows·cols·l` multiply-adds.
 *
 * The result is the exact SVD of `A`'s projection `Q·QᵀA` onto the captured subspace: its singular values are
 * lower bounds of `A`'s, exact when `rank(A) ≤ l`, and `‖A‖²_F − Σ sᵢ²` is the energy left outside it.
 * `singularValues` holds `l` values (then zeros up to `min(rows, cols)`); `leading(k)` returns as many as asked.
 */
export function randomizedSvd(a: Tensor<FloatArray>, k: number, options: RandomizedSvdOptions = {}): LazySvd {
  const [m, n] = expectRank("randomizedSvd", "a", a, 2) as [number, number];
  const p = Math.min(m, n);
  expect("randomizedSvd", p > 0, `expects a non-empty matrix, got [${a.shape}]`);
  expect(
    "randomizedSvd",
    Number.isInteger(k) && k >= 1 && k <= p,
    `k must be an integer in [1, ${p}], got ${k}`,
  );
  const oversample = options.oversample ?? 8;
  const iterations = options.powerIterations ?? 2;
  const l = Math.min(p, k + oversample);
  const rng = createRng(options.seed ?? 0);
  const omega = new Float64Array(n * l);
  for (let i = 0; i < omega.length; i++) omega[i] = rng.normal();
  let q = orthonormalBasis(times(a, omega, l, false), m, l);
  for (let it = 0; it < iterations; it++) {
    const z = orthonormalBasis(times(a, q, l, true), n, l);
    q = orthonormalBasis(times(a, z, l, false), m, l);
  }
  // B = Qᵀ·A, computed as (Aᵀ·Q)ᵀ: [n, l] → [l, n].
  const bt = times(a, q, l, true);
  const b = new Float64Array(l * n);
  for (let j = 0; j < n; j++) for (let t = 0; t < l; t++) b[t * n + j] = bt[j * l + t]!;
  return productSvd({ data: q, shape: [m, l] }, { data: b, shape: [l, n] });
}
