import { createRng } from "../rng";
import type { FloatArray, Tensor } from "../tensor";
import { expect, expectRank } from "./check";
import { applyQ, householderQr } from "./householder-qr";
import type { LazySvd } from "./lazy-svd";
import { matmul } from "./matmul";
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

/** `op(a)·q` with `q` float64 `[*, l]`: the product in `a`'s element type, returned as float64. */
function times<A extends FloatArray>(
  a: Tensor<A>,
  q: Float64Array,
  l: number,
  transA: boolean,
): Float64Array {
  const inner = transA ? a.shape[0]! : a.shape[1]!;
  const qa = (a.data instanceof Float64Array ? q : Float32Array.from(q)) as A;
  return Float64Array.from(matmul(a, { data: qa, shape: [inner, l] }, { transA }).data);
}

/**
 * The leading singular triplets of a 2-D matrix by randomized subspace iteration (Halko, Martinsson & Tropp):
 * `Y = A·Ω` for a seeded Gaussian `Ω` with `l = k + oversample` columns, `powerIterations` rounds of
 * `Q ← orth(A·orth(Aᵀ·Q))`, then the exact SVD of `Q·(QᵀA)` ({@link productSvd}). The products with `A` use
 * {@link matmul} in `A`'s element type (float32 SIMD for a float32 `A`); the small factorisations are
 * float64. Costs about `2·(1 + powerIterations)·rows·cols·l` multiply-adds.
 *
 * The result is the exact SVD of `A`'s projection `Q·QᵀA` onto the captured subspace: its singular values are
 * lower bounds of `A`'s, exact when `rank(A) ≤ l`, and `‖A‖²_F − Σ sᵢ²` is the energy left outside it.
 * `singularValues` holds `l` values (then zeros up to `min(rows, cols)`); `leading(k)` returns as many as asked.
 */
export function randomizedSvd<A extends FloatArray>(
  a: Tensor<A>,
  k: number,
  options: RandomizedSvdOptions = {},
): LazySvd {
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
