import { addScaledInPlace, type ScratchPool, type Tensor } from "@lycoris-ts/kernels";
import type { LycorisConfig } from "@lycoris-ts/lycoris-config";
import type { AdapterContext, AdapterParams, AdapterVariant } from "./adapter-variant";

/**
 * Merges one module in place: `weight += scaling · ΔW` through the variant's `mergeInto` when it has
 * one (LoKr merges block by block), else by adding its `deltaWeight`. `scaling < 0` unmerges. The one
 * "merge a module" step: `LycorisLayer.merge` / `unmerge` and the file merge both use it.
 *
 * With `scratch` (the caller's pool, kept for a whole merge), ΔW and the variant's temporaries go into
 * its slot 0 instead of fresh arrays; the result is bit-for-bit the same.
 */
export function mergeIntoWeight<C extends LycorisConfig>(
  variant: AdapterVariant<C>,
  weight: Tensor<Float32Array>,
  params: AdapterParams,
  ctx: AdapterContext<C>,
  scaling: number,
  scratch?: ScratchPool,
): void {
  const buffer = scratch?.take(weight.data.length);
  if (variant.mergeInto !== undefined) variant.mergeInto(weight, params, ctx, scaling, buffer);
  else addScaledInPlace(weight, variant.deltaWeight(params, ctx, scaling, buffer), 1);
}
