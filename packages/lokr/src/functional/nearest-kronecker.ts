import {
  denseSvd,
  type FloatArray,
  type LazySvd,
  numel,
  randomizedSvd,
  type Tensor,
} from "@lycoris-ts/kernels";
import { LoKrError } from "./errors";
import type { ResolvedStructure } from "./factors";
import { swapConv1dLayout } from "./kron-layout";
import { lokrParamShapes } from "./param-shapes";
import type { LoKrLayerShape, LoKrStructure } from "./types";

/** Options of {@link lokrFromDelta}. */
export interface LoKrFromDeltaOptions {
  /**
   * The rank `r` of the adapter: `w2` becomes a rank-r product when `r < max(k, n) / 2` (PEFT's rule), and with
   * `decomposeBoth` `w1` too when `r < max(l, m) / 2`. Default: the smallest `r` that keeps `w2` full.
   */
  readonly r?: number;
  /** PEFT's `decompose_factor` (default `-1`: the most balanced split). */
  readonly decomposeFactor?: number;
  /** PEFT's `decompose_both` (default false). */
  readonly decomposeBoth?: boolean;
}

/** What {@link lokrFromDelta} returns. */
export interface LoKrFromDelta {
  /** PEFT's LoKr parameters (`lokr_w1` | `lokr_w1_a`, `lokr_w1_b`; `lokr_w2` | `lokr_w2_a`, `lokr_w2_b`), float32. */
  readonly params: Record<string, Tensor<Float32Array>>;
  /** The `r` the parameter shapes follow (PEFT's shapes for `r` and `alpha = r`: scaling 1). */
  readonly r: number;
  readonly structure: LoKrStructure;
  /** `‖ΔW − kron(w1, w2)‖_F / ‖ΔW‖_F` with the float32 factors as returned (float64 sums). */
  readonly relativeError: number;
}

/** Below this `min(rows, cols)` a factor's rank-r split uses a full SVD. */
const DENSE_LIMIT = 256;

function svdOf(data: Float64Array, rows: number, cols: number, k: number): LazySvd {
  const m = { data, shape: [rows, cols] };
  return Math.min(rows, cols) <= DENSE_LIMIT ? denseSvd(m) : randomizedSvd(m, k);
}

/** The best rank-r split `a·b` (`a = U√S`, `b = √S·Vᵀ`) of a row-major float64 matrix, float32. */
function lowRankSplit(
  w: Float64Array,
  rows: number,
  cols: number,
  r: number,
): [Tensor<Float32Array>, Tensor<Float32Array>] {
  const { u, s, v } = svdOf(w, rows, cols, r).leading(r);
  const a = new Float32Array(rows * r);
  const b = new Float32Array(r * cols);
  for (let t = 0; t < r; t++) {
    const root = Math.sqrt(s[t]!);
    for (let i = 0; i < rows; i++) a[i * r + t] = u.data[i * r + t]! * root;
    for (let j = 0; j < cols; j++) b[t * cols + j] = v.data[j * r + t]! * root;
  }
  return [
    { data: a, shape: [rows, r] },
    { data: b, shape: [r, cols] },
  ];
}

/** `a·b` of two float32 factors, float64 (small: a Kronecker factor). */
function product(a: Tensor<Float32Array>, b: Tensor<Float32Array>): Float64Array {
  const [rows, r] = [a.shape[0]!, a.shape[1]!];
  const cols = b.shape[1]!;
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++)
    for (let t = 0; t < r; t++) {
      const x = a.data[i * r + t]!;
      for (let j = 0; j < cols; j++) out[i * cols + j] = out[i * cols + j]! + x * b.data[t * cols + j]!;
    }
  return out;
}

/**
 * Van Loan–Pitsianis rearrangement: `R[p·m + i, q·J + c] = ΔW[p·k + q, i·J + c]` with `J = n·∏kernel`, so that
 * `ΔW = kron(w1, w2)` exactly when `R = vec(w1)·vec(w2)ᵀ`.
 */
function rearrange(delta: FloatArray, l: number, k: number, m: number, J: number): Float32Array {
  const r = new Float32Array(delta.length);
  const rowLength = m * J;
  for (let p = 0; p < l; p++)
    for (let q = 0; q < k; q++)
      for (let i = 0; i < m; i++) {
        const from = (p * k + q) * rowLength + i * J;
        r.set(delta.subarray(from, from + J), (p * m + i) * (k * J) + q * J);
      }
  return r;
}

function checkDelta(delta: Tensor<FloatArray>, layer: LoKrLayerShape): void {
  const want = [layer.outFeatures, layer.inFeatures, ...layer.kernelSize];
  if (delta.shape.length !== want.length || delta.shape.some((d, i) => d !== want[i])) {
    throw new LoKrError("shape_mismatch", `ΔW has shape [${delta.shape}], the layer's weight is [${want}]`, {
      field: "delta",
      expected: `[${want}]`,
      received: `[${delta.shape}]`,
    });
  }
}

/**
 * The LoKr adapter nearest to a given ΔW (shaped like the base weight `[out, in, ...kernel]`): PEFT's factor
 * shapes for `decomposeFactor` (`out = l·k`, `in = m·n`), `w1 ⊗ w2` the nearest Kronecker product in the
 * Frobenius norm (Van Loan–Pitsianis: the leading singular pair of ΔW rearranged so that `w1 ⊗ w2` becomes
 * `vec(w1)·vec(w2)ᵀ`, by a randomized SVD), the singular value split evenly between the factors; then, where
 * PEFT's shapes for `r` make a factor a rank-r product, its best rank-r split. Conv kernels stay in `w2`
 * (flattened into `w2_b` when low rank, no Tucker core); a Conv1d with a full `lokr_w2` gets PEFT's
 * permuted layout back. One Kronecker term may capture little of an arbitrary ΔW: the relative error says how
 * much.
 */
export function lokrFromDelta(
  delta: Tensor<FloatArray>,
  layer: LoKrLayerShape,
  o: LoKrFromDeltaOptions = {},
): LoKrFromDelta {
  checkDelta(delta, layer);
  const decomposeFactor = o.decomposeFactor ?? -1;
  const decomposeBoth = o.decomposeBoth ?? false;
  const probe = lokrParamShapes(layer, {
    r: 1,
    decomposeBoth: false,
    decomposeFactor,
    useEffectiveConv2d: false,
  });
  const [l, k] = probe.structure.outFactors;
  const [m, n] = probe.structure.inFactors;
  const r = o.r ?? Math.ceil(Math.max(k, n) / 2);
  const { structure } = lokrParamShapes(layer, {
    r,
    decomposeBoth,
    decomposeFactor,
    useEffectiveConv2d: false,
  });
  const kernelNumel = numel(layer.kernelSize);
  const J = n * kernelNumel;
  const quirk = layer.kind === "conv1d" && structure.w2 === "full";
  const resolved: ResolvedStructure = { ...structure, kernelNumel, peftConv1dQuirk: quirk };
  const trueDelta = quirk ? swapConv1dLayout(delta, resolved, "peft").data : delta.data;
  const rearranged = rearrange(trueDelta, l, k, m, J);
  const lead = randomizedSvd({ data: rearranged, shape: [l * m, k * J] }, 1).leading(1);
  const root = Math.sqrt(lead.s[0]!);
  const w1 = Float64Array.from(lead.u.data, (x) => x * root);
  const w2 = Float64Array.from(lead.v.data, (x) => x * root);

  const params: Record<string, Tensor<Float32Array>> = {};
  if (structure.w1 === "full") {
    params.lokr_w1 = { data: Float32Array.from(w1), shape: [l, m] };
  } else {
    [params.lokr_w1_a, params.lokr_w1_b] = lowRankSplit(w1, l, m, r);
  }
  if (structure.w2 === "full") {
    params.lokr_w2 = { data: Float32Array.from(w2), shape: [k, n, ...layer.kernelSize] };
  } else {
    [params.lokr_w2_a, params.lokr_w2_b] = lowRankSplit(w2, k, J, r);
  }
  const w1Stored = params.lokr_w1?.data ?? product(params.lokr_w1_a!, params.lokr_w1_b!);
  const w2Stored = params.lokr_w2?.data ?? product(params.lokr_w2_a!, params.lokr_w2_b!);
  let diff = 0;
  let norm = 0;
  const cols = k * J;
  for (let row = 0; row < l * m; row++) {
    const x = w1Stored[row]!;
    for (let c = 0; c < cols; c++) {
      const d = rearranged[row * cols + c]!;
      const e = d - x * w2Stored[c]!;
      diff += e * e;
      norm += d * d;
    }
  }
  const relativeError = norm === 0 ? (diff === 0 ? 0 : Number.POSITIVE_INFINITY) : Math.sqrt(diff / norm);
  return { params, r, structure, relativeError };
}
