import type { FloatArray, Tensor } from "../tensor";
import { expect, expectRank } from "./check";
import { svd } from "./decompositions";
import { applyQ, householderQr } from "./householder-qr";
import { denseSvd, type LazySvd, lazySvd, leadingColumns, nonZeroCount } from "./lazy-svd";
import { matmul } from "./matmul";

function toFloat64(t: Tensor<FloatArray>): Tensor<Float64Array> {
  return { data: Float64Array.from(t.data), shape: t.shape };
}

/**
 * The SVD of a low-rank product `a·b` (`a [m, p]`, `b [p, n]`) without forming it: thin QR of both sides,
 * `a = Q₁R₁`, `bᵀ = Q₂R₂`, then the SVD of the `p × p` core `R₁R₂ᵀ = U_c·S·V_cᵀ` gives `U = Q₁U_c`, `V = Q₂V_c`
 * (float64). Costs `O((m + n)·p²)` instead of `O(m·n·min(m, n))`; when `p ≥ min(m, n)` the product is no
 * larger than its factors and is decomposed directly.
 */
export function productSvd(a: Tensor<FloatArray>, b: Tensor<FloatArray>): LazySvd {
  const [m, p] = expectRank("productSvd", "a", a, 2) as [number, number];
  const [pb, n] = expectRank("productSvd", "b", b, 2) as [number, number];
  expect("productSvd", p === pb, `inner dims differ: a is [${a.shape}], b is [${b.shape}]`);
  expect(
    "productSvd",
    m > 0 && n > 0 && p > 0,
    `expects non-empty factors, got [${a.shape}] and [${b.shape}]`,
  );
  if (p >= Math.min(m, n)) return denseSvd(matmul(toFloat64(a), toFloat64(b)));
  // Column-major a is aᵀ row-major; column-major bᵀ is b row-major.
  const aCols = new Float64Array(m * p);
  for (let i = 0; i < m; i++) for (let j = 0; j < p; j++) aCols[j * m + i] = a.data[i * p + j]!;
  const qa = householderQr(aCols, m, p);
  const qb = householderQr(Float64Array.from(b.data), n, p);
  const core = matmul({ data: qa.r, shape: [p, p] }, { data: qb.r, shape: [p, p] }, { transB: true });
  const c = svd(core);
  const s = new Float64Array(Math.min(m, n));
  s.set(c.s);
  return lazySvd(m, n, s, nonZeroCount(c.s), (k) => ({
    u: applyQ(qa, leadingColumns(c.u.data, p, p, k), k),
    v: applyQ(qb, leadingColumns(c.v.data, p, p, k), k),
  }));
}
