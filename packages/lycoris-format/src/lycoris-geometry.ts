import type { ConvOptions } from "@lycoris-ts/kernels";
import type { AdaptableKind, LayerGeometry } from "@lycoris-ts/runtime";
import { LycorisFormatError } from "./lycoris-format-error";
import type { LycorisModule } from "./lycoris-module";
import { shapeText } from "./shape-text";

/** Optional layer hyper-parameters (as in a model description) that refine {@link lycorisLayerGeometry}. */
export interface LycorisLayerHints {
  readonly kind?: AdaptableKind;
  readonly stride?: readonly number[];
  readonly padding?: readonly number[];
  readonly dilation?: readonly number[];
  readonly groups?: number;
}

/**
 * The layer a base weight belongs to: 2-D `[out, in]` linear, 3-D `[out, in/groups, k]` conv1d,
 * 4-D `[out, in/groups, kh, kw]` conv2d; `hints` (e.g. from `model.json`) add the conv options,
 * which do not change ΔW, only how a layer applies it.
 *
 * @throws LycorisFormatError (`shape_mismatch`) for weights of other ranks or a contradicting `kind`.
 */
export function lycorisLayerGeometry(
  weightShape: readonly number[],
  hints: LycorisLayerHints = {},
): LayerGeometry {
  const n = weightShape.length;
  const kind: AdaptableKind | null = n === 2 ? "linear" : n === 3 ? "conv1d" : n === 4 ? "conv2d" : null;
  if (kind === null || (hints.kind !== undefined && hints.kind !== kind)) {
    throw new LycorisFormatError(
      "shape_mismatch",
      "",
      `base weight ${shapeText(weightShape)} is not a ${hints.kind ?? "linear, conv1d or conv2d"} weight`,
    );
  }
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
          paddingMode: "zeros",
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

const prod = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/** What the factors say about the weight: output size, flattened input size, kernel (when explicit), LoKr `in_m`. */
function implied(m: LycorisModule): {
  out: number;
  inFlat: number;
  kernel: readonly number[] | null;
  inFactor: number;
} {
  const p = m.params;
  if (m.structure.algo === "LOKR") {
    const w1 = p.lokr_w1;
    const l = w1 !== undefined ? w1.shape[0]! : p.lokr_w1_a!.shape[0]!;
    const mm = w1 !== undefined ? w1.shape[1]! : p.lokr_w1_b!.shape[1]!;
    if (m.structure.w2 === "full") {
      const w2 = p.lokr_w2!;
      return {
        out: l * w2.shape[0]!,
        inFlat: mm * prod(w2.shape.slice(1)),
        kernel: w2.shape.length > 2 ? w2.shape.slice(2) : null,
        inFactor: mm,
      };
    }
    if (m.structure.w2 === "tucker") {
      const t2 = p.lokr_t2!;
      const k = t2.shape.slice(2);
      return {
        out: l * p.lokr_w2_a!.shape[1]!,
        inFlat: mm * p.lokr_w2_b!.shape[1]! * prod(k),
        kernel: k,
        inFactor: mm,
      };
    }
    return {
      out: l * p.lokr_w2_a!.shape[0]!,
      inFlat: mm * p.lokr_w2_b!.shape[1]!,
      kernel: null,
      inFactor: mm,
    };
  }
  if (m.structure.tucker) {
    const k = p.hada_t1!.shape.slice(2);
    return { out: p.hada_w1_a!.shape[1]!, inFlat: p.hada_w1_b!.shape[1]! * prod(k), kernel: k, inFactor: 1 };
  }
  return { out: p.hada_w1_a!.shape[0]!, inFlat: p.hada_w1_b!.shape[1]!, kernel: null, inFactor: 1 };
}

function sameKernel(explicit: readonly number[], weightKernel: readonly number[]): boolean {
  // PEFT's Conv1d Tucker core carries a trailing unit axis: (k, 1) fits a (k) kernel
  const k =
    explicit.length === 2 && weightKernel.length === 1 && explicit[1] === 1 ? explicit.slice(0, 1) : explicit;
  return k.length === weightKernel.length && k.every((v, i) => v === weightKernel[i]);
}

function factorShapes(m: LycorisModule): string {
  return Object.entries(m.params)
    .map(([n, t]) => `${n} ${shapeText(t.shape)}`)
    .join(", ");
}

/**
 * Why module `m` cannot be applied to a base weight of shape `weightShape` (its factors imply
 * another shape, or its `dora_scale` fits neither axis), or `null` when it fits. The error names
 * the module, the base weight's shape and the factor shapes.
 */
export function checkLycorisModuleFits(
  m: LycorisModule,
  weightShape: readonly number[],
): LycorisFormatError | null {
  const fail = (why: string) =>
    new LycorisFormatError(
      "shape_mismatch",
      m.moduleName,
      `module '${m.moduleName}': base weight ${shapeText(weightShape)} does not fit the adapter (${why})`,
    );
  if (weightShape.length < 2 || weightShape.length > 4) return fail("not a linear, conv1d or conv2d weight");
  const imp = implied(m);
  const out = weightShape[0]!;
  const inFlat = prod(weightShape.slice(1));
  const kernel = weightShape.slice(2);
  if (imp.out !== out || imp.inFlat !== inFlat || weightShape[1]! % imp.inFactor !== 0) {
    return fail(`the factors ${factorShapes(m)} make a [${imp.out}, ${imp.inFlat}] update`);
  }
  if (imp.kernel !== null && !sameKernel(imp.kernel, kernel)) {
    return fail(`the factors ${factorShapes(m)} have kernel ${shapeText(imp.kernel)}`);
  }
  const d = m.doraScale;
  if (d !== null) {
    const outAxis = d.shape[0] === out && d.data.length === out;
    const inAxis = d.shape[0] === 1 && d.shape[1] === weightShape[1] && d.data.length === weightShape[1];
    if (!outAxis && !inAxis) {
      return fail(`dora_scale ${shapeText(d.shape)} is neither [${out}, 1, …] nor [1, ${weightShape[1]}, …]`);
    }
  }
  return null;
}
