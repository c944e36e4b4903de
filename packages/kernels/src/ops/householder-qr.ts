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
      const t = tau[j]!;
      for (let c = j + 1; c < p; c++) {
        const cc = c * m;
        let s = a[cc + j]!;
        for (let i = j + 1; i < m; i++) s += a[cj + i]! * a[cc + i]!;
        s *= t;
        a[cc + j] = a[cc + j]! - s;
        for (let i = j + 1; i < m; i++) a[cc + i] = a[cc + i]! - s * a[cj + i]!;
      }
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
  for (let j = p - 1; j >= 0; j--) {
    const tj = tau[j]!;
    if (tj === 0) continue;
    const cj = j * m;
    for (let t = 0; t < k; t++) {
      const ct = t * m;
      let s = x[ct + j]!;
      for (let i = j + 1; i < m; i++) s += v[cj + i]! * x[ct + i]!;
      s *= tj;
      x[ct + j] = x[ct + j]! - s;
      for (let i = j + 1; i < m; i++) x[ct + i] = x[ct + i]! - s * v[cj + i]!;
    }
  }
  const out = new Float64Array(m * k);
  for (let t = 0; t < k; t++) for (let i = 0; i < m; i++) out[i * k + t] = x[t * m + i]!;
  return out;
}
