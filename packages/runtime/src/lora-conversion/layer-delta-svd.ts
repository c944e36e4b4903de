import { denseSvd, type FloatArray, type LazySvd, permute, reshape } from "@lycoris-ts/kernels";
import type { LycorisConfig } from "@lycoris-ts/lycoris-config";
import type {
  AdapterContext,
  AdapterParams,
  AdapterVariant,
  DeltaWeightSvdOptions,
} from "../registry/adapter-variant";

/**
 * The SVD of one layer's ΔW as an `[out, in/groups · ∏kernel]` matrix: the variant's structured
 * `deltaWeightSvd` when it has one, else its materialised `deltaWeight` and a full SVD. For the input-major
 * kinds (`embedding`, `gpt2_conv1d`, whose ΔW is `[in, out]`) the matrix is ΔW transposed, so `B·A` is
 * always `[out, in]`.
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
  const { kind, outFeatures, inFeatures } = ctx.layer;
  if (kind === "embedding" || kind === "gpt2_conv1d") {
    return denseSvd(permute(reshape(delta, [inFeatures, outFeatures]), [1, 0]));
  }
  return denseSvd(reshape(delta, [outFeatures, delta.data.length / outFeatures]));
}
