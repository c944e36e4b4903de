import type { AdaptableKind, LayerGeometry } from "@lycoris-ts/runtime";

/**
 * The geometry of a layer with kernel `kernelSize` (`[]`: linear), `out` outputs and `inPerGroup`
 * inputs per group. Convolution options are the defaults (stride 1, no padding, one group): they do
 * not change a delta weight, only how it is applied.
 */
export function makeGeometry(out: number, inPerGroup: number, kernelSize: readonly number[]): LayerGeometry {
  const kind: AdaptableKind =
    kernelSize.length === 0 ? "linear" : kernelSize.length === 1 ? "conv1d" : "conv2d";
  const ones = kernelSize.map(() => 1);
  return {
    kind,
    outFeatures: out,
    inFeatures: inPerGroup,
    kernelSize: [...kernelSize],
    groups: 1,
    weightShape: [out, inPerGroup, ...kernelSize],
    conv:
      kind === "linear"
        ? null
        : {
            stride: ones,
            padding: kernelSize.map(() => 0),
            dilation: ones,
            groups: 1,
            paddingMode: "zeros",
          },
  };
}

/**
 * The layer a base weight belongs to, from its rank: 2-D `[out, in]` linear, 3-D
 * `[out, in/groups, k]` conv1d, 4-D `[out, in/groups, kh, kw]` conv2d; `null` for other ranks.
 * (PEFT derives adapter shapes from `in/groups`, the weight's second dimension, so the number of
 * groups is not needed to merge.)
 */
export function geometryFromWeightShape(shape: readonly number[]): LayerGeometry | null {
  if (shape.length < 2 || shape.length > 4) return null;
  return makeGeometry(shape[0]!, shape[1]!, shape.slice(2));
}

function divisors(n: number): number[] {
  const out: number[] = [];
  for (let d = 1; d * d <= n; d++) {
    if (n % d === 0) {
      out.push(d);
      if (d * d !== n) out.push(n / d);
    }
  }
  return out.sort((a, b) => a - b);
}

/** Kernel shapes (`[]`, `[k]`, `[kh, kw]`) whose element count is `size`. */
function kernelsOfSize(size: number): number[][] {
  const out: number[][] = size === 1 ? [[], [1], [1, 1]] : [[size]];
  if (size > 1) for (const a of divisors(size)) out.push([a, size / a]);
  return out;
}

/** Layers with `out` outputs whose flattened input (`in/groups × kernel`) is `inTimesKernel`, `inFactor | in`. */
function foldedCandidates(out: number, inTimesKernel: number, inFactor = 1): LayerGeometry[] {
  const out_: LayerGeometry[] = [];
  for (const k of divisors(inTimesKernel)) {
    const inPerGroup = inTimesKernel / k;
    if (inPerGroup % inFactor !== 0) continue;
    for (const kernel of kernelsOfSize(k)) out_.push(makeGeometry(out, inPerGroup, kernel));
  }
  return out_;
}

/** Layers whose kernel is `explicit` (a Tucker core's spatial dims; PEFT gives conv1d cores a trailing 1). */
function explicitKernelCandidates(
  out: number,
  inPerGroup: number,
  explicit: readonly number[],
): LayerGeometry[] {
  const out_ = [makeGeometry(out, inPerGroup, explicit)];
  if (explicit.length === 2 && explicit[1] === 1) out_.push(makeGeometry(out, inPerGroup, [explicit[0]!]));
  return out_;
}

/**
 * Base layers that LoKr or LoHa parameters with these shapes could belong to, derived from the
 * factor shapes alone (no base model). A folded kernel (`lokr_w2_b [r, n·k]`, `hada_w1_b [r, in·k]`)
 * leaves the kernel size open, so every split is a candidate; the caller keeps those for which the
 * variant's own parameter layout gives exactly these shapes. Empty for unknown variants.
 */
export function candidateGeometries(
  peftType: string,
  params: ReadonlyMap<string, readonly number[]>,
): LayerGeometry[] {
  const dim = (name: string, i: number): number | undefined => params.get(name)?.[i];
  if (peftType.toUpperCase() === "LOKR") {
    const l = dim("lokr_w1", 0) ?? dim("lokr_w1_a", 0);
    const m = dim("lokr_w1", 1) ?? dim("lokr_w1_b", 1);
    if (l === undefined || m === undefined) return [];
    const w2 = params.get("lokr_w2");
    if (w2 !== undefined) {
      if (w2.length < 2) return [];
      return [makeGeometry(l * w2[0]!, m * w2[1]!, w2.slice(2))];
    }
    const t2 = params.get("lokr_t2");
    if (t2 !== undefined) {
      const k = dim("lokr_w2_a", 1);
      const n = dim("lokr_w2_b", 1);
      if (k === undefined || n === undefined) return [];
      return explicitKernelCandidates(l * k, m * n, t2.slice(2));
    }
    const k = dim("lokr_w2_a", 0);
    const nk = dim("lokr_w2_b", 1);
    if (k === undefined || nk === undefined) return [];
    return foldedCandidates(l * k, m * nk, m);
  }
  if (peftType.toUpperCase() === "LOHA") {
    const t1 = params.get("hada_t1");
    if (t1 !== undefined) {
      const out = dim("hada_w1_a", 1);
      const inPerGroup = dim("hada_w1_b", 1);
      if (out === undefined || inPerGroup === undefined) return [];
      return explicitKernelCandidates(out, inPerGroup, t1.slice(2));
    }
    const out = dim("hada_w1_a", 0);
    const ink = dim("hada_w1_b", 1);
    if (out === undefined || ink === undefined) return [];
    return foldedCandidates(out, ink);
  }
  return [];
}
