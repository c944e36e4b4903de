import type { ConvOptions, PaddingMode } from "@lycoris-ts/kernels";
import type { AdaptableKind, LayerGeometry } from "./adapter-variant";

/** Layer hyper-parameters a weight shape does not carry (e.g. from a model description). */
export interface LayerHints {
  readonly kind?: AdaptableKind;
  readonly stride?: readonly number[];
  readonly padding?: ConvOptions["padding"];
  readonly dilation?: readonly number[];
  readonly groups?: number;
  readonly paddingMode?: PaddingMode;
}

/**
 * The layer a base weight belongs to, from its rank: 2-D `[out, in]` linear, 3-D `[out, in/groups, k]`
 * conv1d, 4-D `[out, in/groups, kh, kw]` conv2d; `null` for other ranks or a contradicting
 * `hints.kind`. Conv options default to stride 1, no padding, one group: they do not change a
 * delta weight, only how a layer applies it (PEFT derives adapter shapes from `in/groups`).
 */
export function geometryFromWeightShape(
  weightShape: readonly number[],
  hints: LayerHints = {},
): LayerGeometry | null {
  const n = weightShape.length;
  const kind: AdaptableKind | null = n === 2 ? "linear" : n === 3 ? "conv1d" : n === 4 ? "conv2d" : null;
  if (kind === null || (hints.kind !== undefined && hints.kind !== kind)) return null;
  const kernelSize = weightShape.slice(2);
  const ones = kernelSize.map(() => 1);
  const groups = hints.groups ?? 1;
  const conv: ConvOptions | null =
    kind === "linear"
      ? null
      : {
          stride: hints.stride ?? ones,
          padding: hints.padding ?? kernelSize.map(() => 0),
          dilation: hints.dilation ?? ones,
          groups,
          paddingMode: hints.paddingMode ?? "zeros",
        };
  return {
    kind,
    outFeatures: weightShape[0]!,
    inFeatures: weightShape[1]!,
    kernelSize,
    groups,
    weightShape: [...weightShape],
    conv,
  };
}

/**
 * The geometry of an input-major layer: an embedding (`inputs` = num_embeddings, `outputs` = its dim)
 * or a GPT-2 `Conv1D` (`inputs` = nx, `outputs` = nf), whose weight is `[inputs, outputs]`.
 */
export function inputMajorGeometry(
  kind: "embedding" | "gpt2_conv1d",
  inputs: number,
  outputs: number,
): LayerGeometry {
  return {
    kind,
    outFeatures: outputs,
    inFeatures: inputs,
    kernelSize: [],
    groups: 1,
    weightShape: [inputs, outputs],
    conv: null,
  };
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

/** Kernel shapes (`[]`, `[k]`, `[kh, kw]`) with `size` elements. */
function kernelsOfSize(size: number): number[][] {
  const out: number[][] = size === 1 ? [[], [1], [1, 1]] : [[size]];
  if (size > 1) for (const a of divisors(size)) out.push([a, size / a]);
  return out;
}

/** The layers `[out, inPerGroup, ...kernel]` for each kernel (`[]`: linear), skipping kernels of rank > 2. */
function layersOf(out: number, inPerGroup: number, kernels: readonly (readonly number[])[]): LayerGeometry[] {
  const found: LayerGeometry[] = [];
  for (const kernel of kernels) {
    const g = geometryFromWeightShape([out, inPerGroup, ...kernel]);
    if (g !== null) found.push(g);
  }
  return found;
}

/**
 * Every layer with `out` outputs whose flattened input `in/groups × ∏kernel` is `inTimesKernel` and
 * whose `in/groups` is a multiple of `inFactor`: the candidates for factors that fold the kernel into
 * one matrix dimension (`lokr_w2_b [r, n·k]`, `hada_w1_b [r, in·k]`), whose shapes leave the split open.
 */
export function foldedLayerCandidates(out: number, inTimesKernel: number, inFactor = 1): LayerGeometry[] {
  const found: LayerGeometry[] = [];
  for (const k of divisors(inTimesKernel)) {
    const inPerGroup = inTimesKernel / k;
    if (inPerGroup % inFactor !== 0) continue;
    found.push(...layersOf(out, inPerGroup, kernelsOfSize(k)));
  }
  return found;
}

/**
 * The layers for a Tucker core's spatial dimensions `coreKernel`: that kernel, and for PEFT's Conv1d
 * core `(r, r, k, 1)` also the conv1d kernel `[k]`.
 */
export function tuckerLayerCandidates(
  out: number,
  inPerGroup: number,
  coreKernel: readonly number[],
): LayerGeometry[] {
  const conv1d = coreKernel.length === 2 && coreKernel[1] === 1 ? [[coreKernel[0]!]] : [];
  return layersOf(out, inPerGroup, [coreKernel, ...conv1d]);
}

/** The single layer `[out, inPerGroup, ...kernel]` (factors that store the kernel explicitly). */
export function exactLayerCandidates(
  out: number,
  inPerGroup: number,
  kernel: readonly number[],
): LayerGeometry[] {
  return layersOf(out, inPerGroup, [kernel]);
}
