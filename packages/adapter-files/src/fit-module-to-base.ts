import { type LycorisConfig, resolveRankAndAlpha } from "@lycoris-ts/lycoris-config";
import {
  type AdapterContext,
  type AdapterVariant,
  geometryFromWeightShape,
  type LayerGeometry,
  type ParameterShapes,
} from "@lycoris-ts/runtime";
import type { AdapterModuleTensors } from "./group-adapter-tensors";
import { compareLayout, mismatchText, shapeText } from "./layout-check";
import type { TensorFile } from "./tensor-file";

/** An adapted module that fits its base weight. */
export interface ModuleFit {
  readonly ok: true;
  /** The base tensor the module's ΔW is added to (`<module>.weight`). */
  readonly weightName: string;
  /** What the variant sees: config, r, alpha (after the patterns), and the base layer's geometry. */
  readonly ctx: AdapterContext<LycorisConfig>;
  /** The variant's scaling (default `alpha / r`; LoRA's rsLoRA: `alpha / √r`). */
  readonly scaling: number;
}

/** Why an adapted module does not fit the base model (one sentence, naming the module and both shapes). */
export interface ModuleMisfit {
  readonly ok: false;
  readonly message: string;
}

/**
 * Matches one adapted module with the base model: the base must hold `<module>.weight`, a weight of
 * a layer the variant's factors may belong to (`layerCandidates` with the config: LoRA's embedding and
 * GPT-2 `Conv1D` `[in, out]` weights) or a 2-D (linear), 3-D (conv1d) or 4-D (conv2d) weight, and the
 * adapter's factors must be exactly the parameters `variant` creates for that layer with this module's
 * `r` / `alpha` (`rank_pattern`, `alpha_pattern`).
 */
export function fitModuleToBase(
  base: TensorFile,
  module: AdapterModuleTensors,
  config: LycorisConfig,
  variant: AdapterVariant<LycorisConfig>,
): ModuleFit | ModuleMisfit {
  const weightName = `${module.module}.weight`;
  const weight = base.info(weightName);
  if (weight === undefined) {
    return { ok: false, message: `not in the base model: ${base.path} has no tensor '${weightName}'` };
  }
  const found = new Map([...module.params].map(([n, i]) => [n, i.shape] as const));
  const layers = baseLayers(variant, found, config, weight.shape);
  const [first] = layers;
  if (first === undefined) {
    return {
      ok: false,
      message: `base weight ${shapeText(weight.shape)} is not a linear, conv1d or conv2d weight`,
    };
  }
  let r: number;
  let alpha: number;
  try {
    ({ r, alpha } = resolveRankAndAlpha(config, module.module));
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
  const context = (layer: LayerGeometry): AdapterContext<LycorisConfig> => ({ config, r, alpha, layer });
  const ctx = layers.map(context).find((c) => compareLayout(variant, c, found).length === 0);
  if (ctx === undefined) {
    const diff = compareLayout(variant, context(first), found);
    return {
      ok: false,
      message: `shape mismatch: base weight ${shapeText(weight.shape)} does not fit the adapter's factors (${diff.map(mismatchText).join("; ")})`,
    };
  }
  return { ok: true, weightName, ctx, scaling: variant.scaling?.(ctx) ?? alpha / r };
}

/**
 * The layers a base weight of `shape` may be for this module: the variant's candidates of exactly
 * that shape (given the config: an embedding's or GPT-2 `Conv1D`'s `[in, out]` weight, in the order
 * the config prefers), then the layer the shape's rank implies (2-D linear, 3-D / 4-D conv).
 */
function baseLayers(
  variant: AdapterVariant<LycorisConfig>,
  found: ParameterShapes,
  config: LycorisConfig,
  shape: readonly number[],
): LayerGeometry[] {
  const text = shapeText(shape);
  const candidates = (variant.layerCandidates?.(found, config) ?? []).filter(
    (g) => shapeText(g.weightShape) === text,
  );
  const fromRank = geometryFromWeightShape(shape);
  return fromRank === null ? candidates : [...candidates, fromRank];
}
