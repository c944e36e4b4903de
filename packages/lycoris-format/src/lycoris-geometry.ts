import { geometryFromWeightShape, type LayerGeometry, type LayerHints } from "@lycoris-ts/runtime";
import { LycorisFormatError } from "./lycoris-format-error";
import type { LycorisModule } from "./lycoris-module";
import { shapeText } from "./shape-text";

/** Optional layer hyper-parameters (as in a model description) that refine {@link lycorisLayerGeometry}. */
export type LycorisLayerHints = Omit<LayerHints, "paddingMode">;

/**
 * The layer a base weight belongs to (runtime's `geometryFromWeightShape`): 2-D `[out, in]` linear,
 * 3-D `[out, in/groups, k]` conv1d, 4-D `[out, in/groups, kh, kw]` conv2d; `hints` (e.g. from
 * `model.json`) add the conv options, which do not change ΔW, only how a layer applies it.
 *
 * @throws LycorisFormatError (`shape_mismatch`) for weights of other ranks or a contradicting `kind`.
 */
export function lycorisLayerGeometry(
  weightShape: readonly number[],
  hints: LycorisLayerHints = {},
): LayerGeometry {
  const layer = geometryFromWeightShape(weightShape, hints);
  if (layer === null) {
    throw new LycorisFormatError(
      "shape_mismatch",
      "",
      `base weight ${shapeText(weightShape)} is not a ${hints.kind ?? "linear, conv1d or conv2d"} weight`,
    );
  }
  return layer;
}

const prod = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

function factorShapes(m: LycorisModule): string {
  return Object.entries(m.params)
    .map(([n, t]) => `${n} ${shapeText(t.shape)}`)
    .join(", ");
}

/** Why the factors fit none of the variant's candidate layers for `weightShape`. */
function misfitReason(
  m: LycorisModule,
  candidates: readonly LayerGeometry[],
  weightShape: readonly number[],
) {
  const first = candidates[0];
  if (first === undefined)
    return `the ${m.algo} variant derives no layer from the factors ${factorShapes(m)}`;
  const flat = (s: readonly number[]) => [s[0]!, prod(s.slice(1))];
  const [out, inFlat] = flat(first.weightShape);
  const [wOut, wInFlat] = flat(weightShape);
  if (out !== wOut || inFlat !== wInFlat)
    return `the factors ${factorShapes(m)} make a [${out}, ${inFlat}] update`;
  const fits = candidates.map((g) => shapeText(g.weightShape)).join(" or ");
  return `the factors ${factorShapes(m)} fit a base weight ${fits}`;
}

/**
 * Why module `m` cannot be applied to a base weight of shape `weightShape` (its factors fit another
 * shape: the variant's `layerCandidates`; or its `dora_scale` fits neither axis), or `null` when it
 * fits. The error names the module, the base weight's shape and the factor shapes.
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
  const shapes = new Map(Object.entries(m.params).map(([n, t]) => [n, t.shape] as const));
  const candidates = m.variant.layerCandidates?.(shapes) ?? [];
  const target = shapeText(weightShape);
  if (!candidates.some((g) => shapeText(g.weightShape) === target)) {
    return fail(misfitReason(m, candidates, weightShape));
  }
  const d = m.doraScale;
  if (d !== null) {
    const out = weightShape[0]!;
    const outAxis = d.shape[0] === out && d.data.length === out;
    const inAxis = d.shape[0] === 1 && d.shape[1] === weightShape[1] && d.data.length === weightShape[1];
    if (!outAxis && !inAxis) {
      return fail(`dora_scale ${shapeText(d.shape)} is neither [${out}, 1, …] nor [1, ${weightShape[1]}, …]`);
    }
  }
  return null;
}
