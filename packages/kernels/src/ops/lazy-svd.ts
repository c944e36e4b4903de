import { KernelsError } from "../errors";
import type { FloatArray, Tensor } from "../tensor";
import { svd } from "./decompositions";
import { completeOrthonormal } from "./orthonormal-completion";

/** The `k` leading singular triplets of a matrix: `A ≈ u · diag(s) · vᵀ`, in float64. */
export interface TruncatedSvd {
  /** `[rows, k]` left singular vectors (orthonormal columns). */
  readonly u: Tensor<Float64Array>;
  /** `[k]` the leading singular values, largest first. */
  readonly s: Float64Array;
  /** `[cols, k]` right singular vectors (orthonormal columns). */
  readonly v: Tensor<Float64Array>;
}

/**
 * An SVD whose singular values are known and whose singular vectors are produced on demand, for as many as
 * are needed (a rank chosen from the singular values, then only those vectors). Built by {@link denseSvd},
 * {@link productSvd} and {@link kronSvd}.
 */
export interface LazySvd {
  /** Rows of the decomposed matrix. */
  readonly rows: number;
  /** Columns of the decomposed matrix. */
  readonly cols: number;
  /**
   * All `min(rows, cols)` singular values, largest first; where the structure bounds the rank, the rest
   * are exact zeros.
   */
  readonly singularValues: Float64Array;
  /**
   * The `k` leading singular triplets (`0 ≤ k ≤ min(rows, cols)`). Vectors of zero singular values are an
   * orthonormal completion (any one is valid).
   */
  leading(k: number): TruncatedSvd;
}

/** Internal: the shared `leading(k)` logic: check `k`, take the computed vectors, complete with zero-value ones. */
export function lazySvd(
  rows: number,
  cols: number,
  singularValues: Float64Array,
  available: number,
  vectors: (k: number) => { u: Float64Array; v: Float64Array },
): LazySvd {
  return {
    rows,
    cols,
    singularValues,
    leading(k: number): TruncatedSvd {
      const p = singularValues.length;
      if (!Number.isInteger(k) || k < 0 || k > p) {
        throw new KernelsError("LazySvd.leading", `k must be an integer in [0, ${p}], got ${k}`);
      }
      const kk = Math.min(k, available);
      let { u, v } = vectors(kk);
      if (k > kk) {
        u = completeOrthonormal(u, rows, kk, k);
        v = completeOrthonormal(v, cols, kk, k);
      }
      return {
        u: { data: u, shape: [rows, k] },
        s: singularValues.slice(0, k),
        v: { data: v, shape: [cols, k] },
      };
    },
  };
}

/** Internal: the first `k` columns of a row-major `rows × cols` array. */
export function leadingColumns(a: Float64Array, rows: number, cols: number, k: number): Float64Array {
  const out = new Float64Array(rows * k);
  for (let i = 0; i < rows; i++) for (let t = 0; t < k; t++) out[i * k + t] = a[i * cols + t]!;
  return out;
}

/** Internal: how many leading singular values are non-zero. */
export function nonZeroCount(s: Float64Array): number {
  let n = 0;
  while (n < s.length && s[n]! > 0) n++;
  return n;
}

/**
 * The SVD of a materialised 2-D matrix (a full float64 SVD, {@link svd}): the reference path, and the cheaper
 * one for tiny matrices.
 */
export function denseSvd(a: Tensor<FloatArray>): LazySvd {
  const { u, s, v } = svd(a);
  const [rows, cols] = [a.shape[0]!, a.shape[1]!];
  const p = s.length;
  return lazySvd(rows, cols, s, nonZeroCount(s), (k) => ({
    u: leadingColumns(u.data, rows, p, k),
    v: leadingColumns(v.data, cols, p, k),
  }));
}

/**
 * A rough multiply-add count of an SVD of a `rows × cols` matrix: `rows·cols·min(rows, cols)` for
 * {@link denseSvd}, or `(rows + cols)·p² + p³` for {@link productSvd} of a rank-`p` product (when
 * `p < min(rows, cols)`), plus a fixed overhead per decomposition, for choosing between a structured and a materialised
 * SVD.
 */
export function svdCostEstimate(rows: number, cols: number, innerRank?: number): number {
  const overhead = 4096;
  const p = Math.min(rows, cols);
  if (innerRank === undefined || innerRank >= p) return rows * cols * p + overhead;
  // Two QRs and a small SVD: three calls' overhead.
  return (rows + cols) * innerRank * innerRank + innerRank ** 3 + 3 * overhead;
}
