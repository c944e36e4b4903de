import { Matrix, SingularValueDecomposition } from "ml-matrix";
import { KernelsError } from "../errors";
import type { FloatArray, Tensor } from "../tensor";
import { applyQ, householderQr } from "./householder-qr";

/** A thin singular value decomposition `A = U · diag(S) · Vᵀ`, in float64. */
export interface Svd {
  /** `[m, p]` left singular vectors, `p = min(m, n)`. */
  readonly u: Tensor<Float64Array>;
  /** `[p]` singular values, largest first. */
  readonly s: Float64Array;
  /** `[n, p]` right singular vectors. */
  readonly v: Tensor<Float64Array>;
}

/** A thin QR decomposition `A = Q · R`, in float64. */
export interface Qr {
  /** `[m, p]` with orthonormal columns, `p = min(m, n)`. */
  readonly q: Tensor<Float64Array>;
  /** `[p, n]` upper triangular. */
  readonly r: Tensor<Float64Array>;
}

function toMatrix(op: string, a: Tensor<FloatArray>): Matrix {
  if (a.shape.length !== 2) throw new KernelsError(op, `expects a 2-D tensor, got shape [${a.shape}]`);
  const [m, n] = [a.shape[0]!, a.shape[1]!];
  if (m === 0 || n === 0) throw new KernelsError(op, `expects a non-empty matrix, got shape [${a.shape}]`);
  const rows: number[][] = [];
  for (let i = 0; i < m; i++) rows.push(Array.from(a.data.subarray(i * n, (i + 1) * n)));
  return new Matrix(rows);
}

function fromMatrix(mat: Matrix, rows: number, cols: number): Tensor<Float64Array> {
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[i * cols + j] = mat.get(i, j);
  return { data, shape: [rows, cols] };
}

/**
 * Thin SVD of a 2-D tensor (ml-matrix, float64): the decomposition behind SVD-based conversions
 * (LoKr/LoHa → LoRA, nearest-Kronecker extraction).
 */
export function svd(a: Tensor<FloatArray>): Svd {
  const mat = toMatrix("svd", a);
  const [m, n] = [a.shape[0]!, a.shape[1]!];
  const p = Math.min(m, n);
  const d = new SingularValueDecomposition(mat, {
    computeLeftSingularVectors: true,
    computeRightSingularVectors: true,
    autoTranspose: true,
  });
  return {
    u: fromMatrix(d.leftSingularVectors, m, p),
    s: Float64Array.from(d.diagonal.slice(0, p)),
    v: fromMatrix(d.rightSingularVectors, n, p),
  };
}

/** Thin QR decomposition of a 2-D tensor with at least as many rows as columns (Householder, float64). */
export function qr(a: Tensor<FloatArray>): Qr {
  const [m, n] = [a.shape[0] ?? 0, a.shape[1] ?? 0];
  if (a.shape.length !== 2) throw new KernelsError("qr", `expects a 2-D tensor, got shape [${a.shape}]`);
  if (m < n) throw new KernelsError("qr", `expects rows >= columns, got shape [${a.shape}]`);
  if (n === 0) throw new KernelsError("qr", `expects a non-empty matrix, got shape [${a.shape}]`);
  const cols = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) cols[j * m + i] = a.data[i * n + j]!;
  const f = householderQr(cols, m, n);
  const identity = new Float64Array(n * n);
  for (let i = 0; i < n; i++) identity[i * n + i] = 1;
  return { q: { data: applyQ(f, identity, n), shape: [m, n] }, r: { data: f.r, shape: [n, n] } };
}
