import { denseSvd, type FloatArray, type LazySvd, reshape } from "@lycoris-ts/kernels";
import type { LycorisConfig } from "@lycoris-ts/lycoris-config";
import type {
  AdapterContext,
  AdapterParams,
  AdapterVariant,
  DeltaWeightSvdOptions,
} from "../registry/adapter-variant";

/**
 * The SVD of one layer's ΔW flattened to `[out, in/groups · ∏kernel]`: the variant's structured
 * `deltaWeightSvd` when it has one, else its materialised `deltaWeight` and a full SVD.
 */
export function layerDeltaSvd<C extends LycorisConfig>(
  variant: AdapterVariant<C>,
  params: AdapterParams<FloatArray>,
  ctx: AdapterContext<C>,
  scaling: number,
  opts: DeltaWeightSvdOptions = {},
): LazySvd {
  if (variant.deltaWeightSvd !== undefined) return variant.deltaWeightSvd(params, ctx, scaling, opts);
  const delta = variant.deltaWeight(params, ctx, scaling);
  const out = ctx.layer.outFeatures;
  return denseSvd(reshape(delta, [out, delta.data.length / out]));
}
