/**
 * Internal: a Householder QR factorisation `A = Q·R` of a tall `m × p` matrix (`m ≥ p`), in float64 on flat
 * arrays. `Q` is kept as its `p` reflectors `Hⱼ = I − τⱼ·vⱼ·vⱼᵀ` (`vⱼ[j] = 1`, zero above `j`), so applying `Q` to a
 * few columns costs `4·m·p` per column instead of forming the `m × p` matrix.
 */
export interface HouseholderQr {
  readonly m: number;
  readonly p: number;
  /** Column-major `m × p`: column `j` holds `vⱼ` below the diagonal (its unit diagonal is implicit). */
  readonly reflectors: Float64Array;
  /** `τⱼ` of each reflector (0 for a zero column: `Hⱼ = I`). */
  readonly tau: Float64Array;
  /** Row-major `p × p` upper-triangular `R`. */
  readonly r: Float64Array;
}

/**
 * Factorises the column-major `m × p` matrix `colMajor` (`colMajor[j·m + i] = A[i, j]`), which is overwritten
 * by the reflectors. Needs `m ≥ p`; columns that are zero or dependent give zero diagonal entries in `R`.
 */
export function householderQr(colMajor: Float64Array, m: number, p: number): HouseholderQr {
  const a = colMajor;
  const tau = new Float64Array(p);
  const r = new Float64Array(p * p);
  for (let j = 0; j < p; j++) {
    const cj = j * m;
    let norm2 = 0;
    for (let i = j; i < m; i++) norm2 += a[cj + i]! * a[cj + i]!;
    const norm = Math.sqrt(norm2);
    const x0 = a[cj + j]!;
    if (norm === 0 || norm2 === x0 * x0) {
      // Already zero below the diagonal: no reflection needed.
      tau[j] = 0;
      for (let i = j + 1; i < m; i++) a[cj + i] = 0;
    } else {
      const alpha = x0 >= 0 ? -norm : norm;
      const v0 = x0 - alpha;
      const inv = 1 / v0;
      for (let i = j + 1; i < m; i++) a[cj + i] = a[cj + i]! * inv;
      tau[j] = -v0 / alpha;
      a[cj + j] = alpha;
      reflect(a, m, j, tau[j]!, a, j + 1, p);
    }
    for (let c = j; c < p; c++) r[j * p + c] = a[c * m + j]!;
  }
  return { m, p, reflectors: a, tau, r };
}

/**
 * `Q·C` for a row-major `p × k` matrix `c`: the first `k` columns of `Q` combined by `c`, as a row-major
 * `m × k` array. (`c` = identity gives the thin `Q`.)
 */
export function applyQ(qr: HouseholderQr, c: Float64Array, k: number): Float64Array {
  const { m, p, reflectors: v, tau } = qr;
  // Work column-major: column t of X is x[t·m .. t·m + m).
  const x = new Float64Array(m * k);
  for (let i = 0; i < p; i++) for (let t = 0; t < k; t++) x[t * m + i] = c[i * k + t]!;
  for (let j = p - 1; j >= 0; j--) if (tau[j]! !== 0) reflect(v, m, j, tau[j]!, x, 0, k);
  const out = new Float64Array(m * k);
  for (let t = 0; t < k; t++) for (let i = 0; i < m; i++) out[i * k + t] = x[t * m + i]!;
  return out;
}

/**
 * `Hⱼ·X` in place for the columns `from ≤ c < to` of the column-major `X` (length-`m` columns), with
 * `Hⱼ = I − τ·v·vᵀ`, `v` = column `j` of `v` below the diagonal and 1 on it. Four columns share each pass over
 * `v` (the loop that dominates the QR).
 */
function reflect(
  v: Float64Array,
  m: number,
  j: number,
  tau: number,
  x: Float64Array,
  from: number,
  to: number,
): void {
  const cj = j * m;
  let c = from;
  for (; c + 3 < to; c += 4) {
    const c0 = c * m;
    const c1 = c0 + m;
    const c2 = c1 + m;
    const c3 = c2 + m;
    let s0 = x[c0 + j]!;
    let s1 = x[c1 + j]!;
    let s2 = x[c2 + j]!;
    let s3 = x[c3 + j]!;
    for (let i = j + 1; i < m; i++) {
      const vi = v[cj + i]!;
      s0 += vi * x[c0 + i]!;
      s1 += vi * x[c1 + i]!;
      s2 += vi * x[c2 + i]!;
      s3 += vi * x[c3 + i]!;
    }
    s0 *= tau;
    s1 *= tau;
    s2 *= tau;
    s3 *= tau;
    x[c0 + j] = x[c0 + j]! - s0;
    x[c1 + j] = x[c1 + j]! - s1;
    x[c2 + j] = x[c2 + j]! - s2;
    x[c3 + j] = x[c3 + j]! - s3;
    for (let i = j + 1; i < m; i++) {
      const vi = v[cj + i]!;
      x[c0 + i] = x[c0 + i]! - s0 * vi;
      x[c1 + i] = x[c1 + i]! - s1 * vi;
      x[c2 + i] = x[c2 + i]! - s2 * vi;
      x[c3 + i] = x[c3 + i]! - s3 * vi;
    }
  }
  for (; c < to; c++) {
    const cc = c * m;
    let s = x[cc + j]!;
    for (let i = j + 1; i < m; i++) s += v[cj + i]! * x[cc + i]!;
    s *= tau;
    x[cc + j] = x[cc + j]! - s;
    for (let i = j + 1; i < m; i++) x[cc + i] = x[cc + i]! - s * v[cj + i]!;
  }
}
