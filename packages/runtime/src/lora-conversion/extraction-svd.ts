import { denseSvd, type LazySvd, randomizedSvd, type Tensor } from "@lycoris-ts/kernels";
import type { RankSelection } from "../registry/delta-extraction";
import { checkRankSelection, selectExtractionRank, selectionCount } from "./extraction-rank";
import { expectFiniteSingularValues } from "./threshold-rank";

/** Below this `min(rows, cols)` a full SVD is cheaper than growing a randomized one. */
const DENSE_LIMIT = 128;
/** Directions a non-fixed selection first captures (then ×4 until its rank is decided). */
const FIRST_CAPTURE = 32;
const OVERSAMPLE = 8;

/** A truncated SVD of a matrix and the rank a selection keeps (`svd.leading(rank)` gives the factors). */
export interface ExtractionSvd {
  readonly svd: LazySvd;
  readonly rank: number;
}

function sumOfSquares(data: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < data.length; i++) e += data[i]! * data[i]!;
  return e;
}

/**
 * The rank a selection keeps when only the leading `s` of `p` singular values are known and `rest2` is the
 * energy `Σ Sᵢ²` of the others, or `null` when they do not decide it. Every unknown value is at most
 * `min(s_last, √rest2)`, and their sum lies in `[√rest2, min((p − L)·max, √((p − L)·rest2))]`.
 */
function decidedRank(s: Float64Array, selection: RankSelection, p: number, rest2: number): number | null {
  const known = s.length;
  const restMax = Math.min(s[known - 1]!, Math.sqrt(rest2));
  const clamp = (n: number): number => Math.min(p, Math.max(1, n));
  switch (selection.mode) {
    case "fixed":
      return clamp(selection.rank);
    case "threshold":
      return restMax <= selection.threshold ? clamp(selectionCount(s, selection)) : null;
    case "ratio":
      return restMax <= selection.ratio * s[0]! ? clamp(selectionCount(s, selection)) : null;
    case "quantile": {
      let sum = 0;
      for (const v of s) sum += v;
      const lo = selectionCount(s, selection, sum + Math.sqrt(rest2));
      const hi = selectionCount(
        s,
        selection,
        sum + Math.min((p - known) * restMax, Math.sqrt((p - known) * rest2)),
      );
      return lo === hi && lo < known ? clamp(lo) : null;
    }
  }
}

/**
 * The SVD an extraction needs from a 2-D ΔW (`[out, in·∏kernel]`) and the rank LyCORIS's selection keeps
 * ({@link selectExtractionRank}). Small matrices get a full SVD; larger ones a randomized SVD (`randomizedSvd`,
 * two power iterations, 8 extra directions): for a fixed rank `k` of `k + 8` directions, for the other modes
 * of 32, then ×4, until the singular values captured and the energy left outside them (‖ΔW‖² − Σ sᵢ²) decide
 * the rank; a selection that needs most of the spectrum ends in a full SVD. The captured singular values are
 * those of ΔW's projection on the captured subspace: a selection whose cutoff falls within float32 noise of a
 * singular value may pick a rank one off from a full SVD's.
 */
export function extractionSvd(matrix: Tensor<Float32Array>, selection: RankSelection): ExtractionSvd {
  checkRankSelection(selection);
  const [rows, cols] = [matrix.shape[0]!, matrix.shape[1]!];
  const p = Math.min(rows, cols);
  const dense = (): ExtractionSvd => {
    const svd = denseSvd(matrix);
    return { svd, rank: selectExtractionRank(svd.singularValues, selection) };
  };
  if (p <= DENSE_LIMIT) return dense();
  if (selection.mode === "fixed") {
    const k = Math.min(p, selection.rank);
    const svd = randomizedSvd(matrix, k, { oversample: OVERSAMPLE });
    expectFiniteSingularValues(svd.singularValues);
    return { svd, rank: k };
  }
  const energy = sumOfSquares(matrix.data);
  for (let want = FIRST_CAPTURE; want + OVERSAMPLE < p / 2; want *= 4) {
    const svd = randomizedSvd(matrix, want, { oversample: OVERSAMPLE });
    const s = svd.singularValues.subarray(0, want + OVERSAMPLE);
    expectFiniteSingularValues(s);
    const rank = decidedRank(s, selection, p, Math.max(0, energy - sumOfSquares(s)));
    if (rank !== null) return { svd, rank };
  }
  return dense();
}
