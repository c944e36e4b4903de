import { type LycorisConfig, resolveRankAndAlpha } from "@lycoris-ts/lycoris-config";
import { type AdapterContext, type AdapterVariant, geometryFromWeightShape } from "@lycoris-ts/runtime";
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
 * Matches one adapted module with the base model: the base must hold `<module>.weight`, a 2-D
 * (linear), 3-D (conv1d) or 4-D (conv2d) weight, and the adapter's factors must be exactly the
 * parameters `variant` creates for that weight with this module's `r` / `alpha` (`rank_pattern`,
 * `alpha_pattern`).
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
  const layer = geometryFromWeightShape(weight.shape);
  if (layer === null) {
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
  const ctx: AdapterContext<LycorisConfig> = { config, r, alpha, layer };
  const found = new Map([...module.params].map(([n, i]) => [n, i.shape] as const));
  const diff = compareLayout(variant, ctx, found);
  if (diff.length > 0) {
    return {
      ok: false,
      message: `shape mismatch: base weight ${shapeText(weight.shape)} does not fit the adapter's factors (${diff.map(mismatchText).join("; ")})`,
    };
  }
  return { ok: true, weightName, ctx, scaling: variant.scaling?.(ctx) ?? alpha / r };
}
