/**
 * Internal: extends the `c` orthonormal columns of the row-major `m × c` array `basis` to `k` orthonormal columns
 * (`c ≤ k ≤ m`), returned as a row-major `m × k` array. Each new column is the unit vector `eᵢ` farthest from the
 * current span (smallest row norm of the basis; its distance² is at least `(m − columns)/m`), orthogonalised twice
 * for float64 orthogonality. They are singular vectors of zero singular values, so any orthonormal completion is
 * as valid as another.
 */
export function completeOrthonormal(basis: Float64Array, m: number, c: number, k: number): Float64Array {
  const out = new Float64Array(m * k);
  const rowNorm2 = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    for (let t = 0; t < c; t++) {
      const x = basis[i * c + t]!;
      out[i * k + t] = x;
      rowNorm2[i] = rowNorm2[i]! + x * x;
    }
  }
  const w = new Float64Array(m);
  for (let filled = c; filled < k; filled++) {
    let e = 0;
    for (let i = 1; i < m; i++) if (rowNorm2[i]! < rowNorm2[e]!) e = i;
    w.fill(0);
    w[e] = 1;
    for (let pass = 0; pass < 2; pass++) {
      for (let t = 0; t < filled; t++) {
        let dot = 0;
        for (let i = 0; i < m; i++) dot += out[i * k + t]! * w[i]!;
        for (let i = 0; i < m; i++) w[i] = w[i]! - dot * out[i * k + t]!;
      }
    }
    let norm2 = 0;
    for (let i = 0; i < m; i++) norm2 += w[i]! * w[i]!;
    const inv = 1 / Math.sqrt(norm2);
    for (let i = 0; i < m; i++) {
      const x = w[i]! * inv;
      out[i * k + filled] = x;
      rowNorm2[i] = rowNorm2[i]! + x * x;
    }
  }
  return out;
}
