import {
  denseSvd,
  type FloatArray,
  type LazySvd,
  matmul,
  permute,
  productSvd,
  reshape,
  svdCostEstimate,
  type Tensor,
} from "@lycoris-ts/kernels";
import { lohaDeltaWeight } from "./delta-weight";
import { type ResolvedLoHaFactors, resolveLoHaFactors } from "./factors";
import { khatriRaoCols, khatriRaoRows } from "./khatri-rao";
import { checkLayerShape } from "./param-shapes";
import type { LoHaLayerShape, LoHaParams } from "./types";

/** Options of {@link lohaDeltaWeightSvd}. */
export interface LoHaSvdOptions {
  /**
   * `"structured"`: from the Khatri–Rao factorisation; `"materialised"`: build ΔW and run a full SVD;
   * `"auto"` (default): the cheaper by a multiply-add estimate (materialising pays for tiny layers, and
   * whenever `r1·r2 ≥ min(out, in·∏kernel)`).
   */
  readonly path?: "auto" | "structured" | "materialised";
}

function float64(t: Tensor<FloatArray>): Tensor<Float64Array> {
  return { data: Float64Array.from(t.data), shape: t.shape };
}

/**
 * Each Hadamard term as a low-rank product `left [out, r] · right [r, in·∏kernel]`: `w*_a · w*_b`, or in the
 * Tucker form `T[p, q, …] = Σᵢⱼ t[i, j, …]·a[i, p]·b[j, q] = (aᵀ · M)[p, (q, …)]` with
 * `M[i, (q, …)] = Σⱼ b[j, q]·t[i, j, …]`.
 */
function hadamardTerms(
  f: ResolvedLoHaFactors<FloatArray>,
  flatIn: number,
): [Tensor<Float64Array>, Tensor<Float64Array>, Tensor<Float64Array>, Tensor<Float64Array>] {
  if (f.t1 === null || f.t2 === null) return [float64(f.w1a), float64(f.w1b), float64(f.w2a), float64(f.w2b)];
  const term = (t: Tensor<FloatArray>, a: Tensor<FloatArray>, b: Tensor<FloatArray>) => {
    const r = t.shape[0]!;
    const core = reshape(float64(t), [r, r, t.data.length / (r * r)]);
    const m = matmul(float64(b), core, { transA: true });
    return [permute(float64(a), [1, 0]), reshape(m, [r, flatIn])] as const;
  };
  const [a1, b1] = term(f.t1, f.w1a, f.w1b);
  const [a2, b2] = term(f.t2, f.w2a, f.w2b);
  return [a1, b1, a2, b2];
}

/**
 * Internal: the structured SVD (Khatri–Rao sides of rank `r1·r2`) or materialising ΔW and a full SVD: the
 * latter when `r1·r2 ≥ min(rows, cols)` (the product would be formed anyway) or a multiply-add estimate finds
 * it cheaper (tiny layers); an explicit choice is passed through.
 */
export function lohaSvdPath(
  requested: LoHaSvdOptions["path"],
  rows: number,
  cols: number,
  r1: number,
  r2: number,
): "structured" | "materialised" {
  if (requested === "structured" || requested === "materialised") return requested;
  const rr = r1 * r2;
  if (rr >= Math.min(rows, cols)) return "materialised";
  const structured = svdCostEstimate(rows, cols, rr) + (rows + cols) * rr;
  const dense = svdCostEstimate(rows, cols) + (rr + 1) * rows * cols;
  return structured < dense ? "structured" : "materialised";
}

/**
 * The SVD of the LoHa ΔW flattened to `[out, in/groups · ∏kernel]` (scale included) without materialising
 * it: `(A1·B1) ⊙ (A2·B2) = (A1 ⊙ᵣ A2) · (B1ᵀ ⊙ᵣ B2ᵀ)ᵀ` with the row-wise Khatri–Rao product, an exact
 * factorisation of rank ≤ r1·r2, whose SVD comes from thin QRs of both sides and the SVD of the
 * `r1·r2 × r1·r2` core (kernels' `productSvd`). The Tucker (effective conv) form is first written as such
 * products. All singular values come at once (zeros beyond `r1·r2`), the leading vectors on demand, so
 * `B = U_k·S_k`, `A = V_kᵀ` is the best rank-k approximation, equal to a full SVD's up to signs and ties.
 */
export function lohaDeltaWeightSvd<A extends FloatArray>(
  params: LoHaParams<A>,
  layer: LoHaLayerShape,
  scale: number,
  o: LoHaSvdOptions = {},
): LazySvd {
  checkLayerShape(layer);
  const f = resolveLoHaFactors(params, layer);
  const rows = layer.outFeatures;
  const cols = layer.inFeatures * layer.kernelSize.reduce((a, b) => a * b, 1);
  const [a1, b1, a2, b2] = hadamardTerms(f, cols);
  if (lohaSvdPath(o.path, rows, cols, a1.shape[1]!, a2.shape[1]!) === "materialised") {
    return denseSvd(reshape(lohaDeltaWeight(params, layer, scale), [rows, cols]));
  }
  const left = khatriRaoRows(a1, a2);
  for (let i = 0; i < left.data.length; i++) left.data[i] = left.data[i]! * scale;
  return productSvd(left, khatriRaoCols(b1, b2));
}
