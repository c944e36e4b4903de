import type { LazySvd } from "./lazy-svd";
import { lazySvd } from "./lazy-svd";
import { topProducts } from "./top-products";

/**
 * The SVD of `scale · (x ⊗ y)` from the SVDs of its factors: the singular values are the products
 * `|scale|·σᵢ(x)·σⱼ(y)` and their singular vectors `uᵢ(x) ⊗ uⱼ(y)`, `vᵢ(x) ⊗ vⱼ(y)` (the sign of `scale` goes
 * into `u`). Only the factors' vectors that the leading products use are ever computed.
 */
export function kronSvd(x: LazySvd, y: LazySvd, scale = 1): LazySvd {
  const rows = x.rows * y.rows;
  const cols = x.cols * y.cols;
  const sx = x.singularValues;
  const sy = y.singularValues;
  const abs = Math.abs(scale);
  const sign = scale < 0 ? -1 : 1;
  const all = topProducts(sx, sy, sx.length * sy.length);
  // sx.length·sy.length ≤ min(rows, cols); the remaining singular values are zero.
  const s = new Float64Array(Math.min(rows, cols));
  let available = 0;
  for (let t = 0; t < all.values.length; t++) {
    s[t] = abs * all.values[t]!;
    if (s[t]! > 0) available = t + 1;
  }
  return lazySvd(rows, cols, s, available, (k) => {
    let ni = 0;
    let nj = 0;
    for (let t = 0; t < k; t++) {
      ni = Math.max(ni, all.i[t]! + 1);
      nj = Math.max(nj, all.j[t]! + 1);
    }
    const fx = x.leading(ni);
    const fy = y.leading(nj);
    return {
      u: kronColumns(fx.u.data, x.rows, ni, fy.u.data, y.rows, nj, all.i, all.j, k, sign),
      v: kronColumns(fx.v.data, x.cols, ni, fy.v.data, y.cols, nj, all.i, all.j, k, 1),
    };
  });
}

/** `out[(p·ry + q), t] = sign · a[p, i_t] · b[q, j_t]` as a row-major `(ra·ry) × k` array. */
function kronColumns(
  a: Float64Array,
  ra: number,
  ca: number,
  b: Float64Array,
  ry: number,
  cb: number,
  is: Int32Array,
  js: Int32Array,
  k: number,
  sign: number,
): Float64Array {
  const out = new Float64Array(ra * ry * k);
  for (let p = 0; p < ra; p++) {
    for (let q = 0; q < ry; q++) {
      const row = (p * ry + q) * k;
      for (let t = 0; t < k; t++) out[row + t] = sign * a[p * ca + is[t]!]! * b[q * cb + js[t]!]!;
    }
  }
  return out;
}
