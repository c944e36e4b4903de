import { addScaledInPlace, type Tensor } from "@lycoris-ts/kernels";
import type { LycorisConfig } from "@lycoris-ts/lycoris-config";
import type { AdapterContext, AdapterParams, AdapterVariant } from "./adapter-variant";

/**
 * Merges one module in place: `weight += scaling · ΔW` through the variant's `mergeInto` when it has
 * one (LoKr merges block by block), else by adding its `deltaWeight`. `scaling < 0` unmerges. The one
 * "merge a module" step: `LycorisLayer.merge` / `unmerge` and the file merge both use it.
 */
export function mergeIntoWeight<C extends LycorisConfig>(
  variant: AdapterVariant<C>,
  weight: Tensor<Float32Array>,
  params: AdapterParams,
  ctx: AdapterContext<C>,
  scaling: number,
): void {
  if (variant.mergeInto !== undefined) variant.mergeInto(weight, params, ctx, scaling);
  else addScaledInPlace(weight, variant.deltaWeight(params, ctx, scaling), 1);
}
