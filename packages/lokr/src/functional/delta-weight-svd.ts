import {
  denseSvd,
  type FloatArray,
  kronSvd,
  type LazySvd,
  matmul,
  permute,
  productSvd,
  reshape,
  svdCostEstimate,
  type Tensor,
} from "@lycoris-ts/kernels";
import { lokrDeltaWeight } from "./delta-weight";
import { type ResolvedStructure, resolveStructure } from "./factors";
import type { LoKrDeltaOptions, LoKrLayerShape } from "./types";

/** Options of {@link lokrDeltaWeightSvd}. */
export interface LoKrSvdOptions extends LoKrDeltaOptions {
  /**
   * `"structured"`: from the SVDs of `w1` and `w2`; `"materialised"`: build ΔW and run a full SVD; `"auto"`
   * (default): the cheaper by a multiply-add estimate (materialising only pays for tiny layers).
   */
  readonly path?: "auto" | "structured" | "materialised";
}

type Params<A extends FloatArray> = Readonly<Record<string, Tensor<A>>>;

function float64(t: Tensor<FloatArray>): Tensor<Float64Array> {
  return { data: Float64Array.from(t.data), shape: t.shape };
}

/** The SVD of `w1 [l, m]`: full, or the product `lokr_w1_a · lokr_w1_b`. */
function w1Svd<A extends FloatArray>(params: Params<A>, s: ResolvedStructure): LazySvd {
  if (s.w1 === "full") return denseSvd(params.lokr_w1!);
  return productSvd(params.lokr_w1_a!, params.lokr_w1_b!);
}

/**
 * The SVD of `w2` flattened to `[k, n·∏kernel]`: full, the product `lokr_w2_a · lokr_w2_b`, or the Tucker form
 * `T[p, q, …] = Σᵢⱼ t2[i, j, …]·w2_a[i, p]·w2_b[j, q]`, which is the product `w2_aᵀ · M` with
 * `M[i, (q, …)] = Σⱼ w2_b[j, q]·t2[i, j, …]` (rank ≤ rows of `t2`).
 */
function w2Svd<A extends FloatArray>(params: Params<A>, s: ResolvedStructure): LazySvd {
  const [, k] = s.outFactors;
  const cols = s.inFactors[1] * s.kernelNumel;
  if (s.w2 === "full") return denseSvd(reshape(params.lokr_w2!, [k, cols]));
  if (s.w2 === "lowrank") return productSvd(params.lokr_w2_a!, params.lokr_w2_b!);
  const core = float64(params.lokr_t2!);
  const [r1, r2] = [core.shape[0]!, core.shape[1]!];
  const m = matmul(float64(params.lokr_w2_b!), reshape(core, [r1, r2, s.kernelNumel]), { transA: true });
  return productSvd(permute(float64(params.lokr_w2_a!), [1, 0]), reshape(m, [r1, cols]));
}

/** The inner rank of a factor given as a product (`undefined` for a full factor). */
function innerRank<A extends FloatArray>(
  params: Params<A>,
  s: ResolvedStructure,
  which: 1 | 2,
): number | undefined {
  if (which === 1) return s.w1 === "full" ? undefined : params.lokr_w1_a!.shape[1];
  if (s.w2 === "full") return undefined;
  return s.w2 === "lowrank" ? params.lokr_w2_a!.shape[1] : params.lokr_t2!.shape[0];
}

/** Internal: whether the structured SVD is cheaper than materialising ΔW and decomposing it. */
export function lokrSvdPath<A extends FloatArray>(
  params: Params<A>,
  s: ResolvedStructure,
  requested: LoKrSvdOptions["path"],
): "structured" | "materialised" {
  if (requested === "structured" || requested === "materialised") return requested;
  const [l, k] = s.outFactors;
  const [m, n] = s.inFactors;
  const cols = n * s.kernelNumel;
  const structured =
    svdCostEstimate(l, m, innerRank(params, s, 1)) +
    svdCostEstimate(k, cols, innerRank(params, s, 2)) +
    (l * k + m * cols);
  const dense = svdCostEstimate(l * k, m * cols) + l * k * m * cols;
  return structured < dense ? "structured" : "materialised";
}

/**
 * PEFT's Conv1d layout of a full 3-D `lokr_w2` is a row and column permutation of the true Kronecker
 * product (see `swapConv1dLayout`): true row `p·k + q` is row `q·l + p`, true column `(i·n + j)·K + t` is
 * column `(j·m + i)·K + t`. Singular values stay; the vectors' entries move the same way.
 */
function peftConv1dSvd(svd: LazySvd, s: ResolvedStructure): LazySvd {
  const [l, k] = s.outFactors;
  const [m, n] = s.inFactors;
  const kk = s.kernelNumel;
  return {
    rows: svd.rows,
    cols: svd.cols,
    singularValues: svd.singularValues,
    leading(r: number) {
      const { u, s: values, v } = svd.leading(r);
      const pu = new Float64Array(u.data.length);
      for (let p = 0; p < l; p++)
        for (let q = 0; q < k; q++)
          pu.set(u.data.subarray((p * k + q) * r, (p * k + q + 1) * r), (q * l + p) * r);
      const pv = new Float64Array(v.data.length);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++)
          for (let t = 0; t < kk; t++) {
            const from = ((i * n + j) * kk + t) * r;
            pv.set(v.data.subarray(from, from + r), ((j * m + i) * kk + t) * r);
          }
      return { u: { data: pu, shape: u.shape }, s: values, v: { data: pv, shape: v.shape } };
    },
  };
}

/**
 * The SVD of the LoKr ΔW flattened to `[out, in/groups · ∏kernel]` (scale included, in `lokrDeltaWeight`'s
 * layout) without materialising it: `ΔW = scale · (w1 ⊗ w2)`, so its singular values are the products
 * `|scale|·σᵢ(w1)·σⱼ(w2)` with vectors `u1ᵢ ⊗ u2ⱼ`, `v1ᵢ ⊗ v2ⱼ`. `w1` and `w2` are decomposed directly
 * when full and through thin QRs when given as low-rank products (or a Tucker core); a conv `w2` is flattened
 * with its kernel. All `min(out, in·∏kernel)` singular values come at once (zeros beyond the structural rank),
 * the leading vectors on demand, so `B = U_k·S_k`, `A = V_kᵀ` is the best rank-k approximation, equal to a full
 * SVD's up to signs and ties. Float64 throughout.
 */
export function lokrDeltaWeightSvd<A extends FloatArray>(
  params: Params<A>,
  layer: LoKrLayerShape,
  scale: number,
  o: LoKrSvdOptions = {},
): LazySvd {
  const s = resolveStructure(params, layer);
  const rows = layer.outFeatures;
  const cols = layer.inFeatures * s.kernelNumel;
  if (lokrSvdPath(params, s, o.path) === "materialised") {
    const delta = lokrDeltaWeight(params, layer, scale, o);
    return denseSvd(reshape(delta, [rows, cols]));
  }
  const svd = kronSvd(w1Svd(params, s), w2Svd(params, s), scale);
  return s.peftConv1dQuirk && (o.layout ?? "peft") === "peft" ? peftConv1dSvd(svd, s) : svd;
}
