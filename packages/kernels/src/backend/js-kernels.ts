import type { FloatArray } from "../tensor";

/*
 * Plain typed-array loops. They are generic over Float32Array/Float64Array: the float64 instance is the
 * reference every other backend is tested against, and the float32 instance is the fallback backend.
 */

/**
 * `out[m,n] = op(a)·op(b)` where `op(a)` is `a` ([m,k]) or `aᵀ` (a stored [k,m]) and `op(b)` is `b`
 * ([k,n]) or `bᵀ` (b stored [n,k]). `out` is overwritten.
 */
export function matmulJs(
  a: FloatArray,
  b: FloatArray,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  out: FloatArray,
): void {
  out.fill(0, 0, m * n);
  if (!transB) {
    // i-p-j order: the inner loop streams a row of b and a row of out.
    for (let i = 0; i < m; i++) {
      const oRow = i * n;
      for (let p = 0; p < k; p++) {
        const av = transA ? a[p * m + i]! : a[i * k + p]!;
        if (av === 0) continue;
        const bRow = p * n;
        for (let j = 0; j < n; j++) out[oRow + j] = out[oRow + j]! + av * b[bRow + j]!;
      }
    }
    return;
  }
  if (!transA) {
    // Rows of a against rows of b: contiguous dot products.
    for (let i = 0; i < m; i++) {
      const aRow = i * k;
      for (let j = 0; j < n; j++) {
        const bRow = j * k;
        let acc = 0;
        for (let p = 0; p < k; p++) acc += a[aRow + p]! * b[bRow + p]!;
        out[i * n + j] = acc;
      }
    }
    return;
  }
  // Both transposed: out = (b·a)ᵀ, accumulate row by row of b.
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc += a[p * m + i]! * b[j * k + p]!;
      out[i * n + j] = acc;
    }
  }
}

/**
 * In place `w += scale · kron(a, b)` with a [p,q] and b [r, s·kernel] (kernel = product of trailing
 * kernel dims, kept innermost), w [p·r, q·s·kernel].
 */
export function kronMergeJs(
  w: FloatArray,
  a: FloatArray,
  p: number,
  q: number,
  b: FloatArray,
  r: number,
  sk: number,
  scale: number,
): void {
  const rowLen = q * sk;
  for (let i = 0; i < p; i++) {
    for (let j = 0; j < r; j++) {
      const wRow = (i * r + j) * rowLen;
      const bRow = j * sk;
      for (let kk = 0; kk < q; kk++) {
        const c = scale * a[i * q + kk]!;
        const off = wRow + kk * sk;
        for (let l = 0; l < sk; l++) w[off + l] = w[off + l]! + c * b[bRow + l]!;
      }
    }
  }
}

/**
 * `out[i,:] = scale · (a1[i,:]·b1) ⊙ (a2[i,:]·b2)`, one output row at a time (the "LoHa row kernel"):
 * the full products a1·b1 and a2·b2 are never materialised. a1 [rows,r1], b1 [r1,cols], a2 [rows,r2],
 * b2 [r2,cols].
 */
export function lowRankHadamardJs(
  a1: FloatArray,
  b1: FloatArray,
  a2: FloatArray,
  b2: FloatArray,
  rows: number,
  cols: number,
  r1: number,
  r2: number,
  scale: number,
  out: FloatArray,
): void {
  const t1 = out instanceof Float64Array ? new Float64Array(cols) : new Float32Array(cols);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    t1.fill(0);
    for (let k = 0; k < r1; k++) {
      const c = a1[i * r1 + k]!;
      const bRow = k * cols;
      for (let j = 0; j < cols; j++) t1[j] = t1[j]! + c * b1[bRow + j]!;
    }
    for (let j = 0; j < cols; j++) out[o + j] = 0;
    for (let k = 0; k < r2; k++) {
      const c = a2[i * r2 + k]!;
      const bRow = k * cols;
      for (let j = 0; j < cols; j++) out[o + j] = out[o + j]! + c * b2[bRow + j]!;
    }
    for (let j = 0; j < cols; j++) out[o + j] = scale * t1[j]! * out[o + j]!;
  }
}
