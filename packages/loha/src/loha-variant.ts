import type { ConvOptions } from "@lycoris-ts/kernels";
import { configFromFileOptions } from "@lycoris-ts/lycoris-config";
import { type AdapterContext, type AdapterVariant, rankDropoutMask } from "@lycoris-ts/runtime";
import { lohaDescribeParameters } from "./files/loha-describe-parameters";
import { lohaKohya } from "./files/loha-kohya";
import { lohaLayerCandidates } from "./files/loha-layer-candidates";
import { lohaBackward } from "./functional/backward";
import { lohaDeltaWeight } from "./functional/delta-weight";
import { lohaDeltaWeightSvd } from "./functional/delta-weight-svd";
import { lohaForward } from "./functional/forward";
import { initLoHaParams } from "./functional/init-params";
import { lohaMergeInto } from "./functional/merge";
import { LOHA_PARAM_NAMES, lohaParamShapes } from "./functional/param-shapes";
import type { LoHaLayerKind, LoHaLayerShape, LoHaShapeOptions } from "./functional/types";
import { LoHaConfig, type LoHaConfigOptions } from "./loha-config";

/** The layer shape the LoHa math takes, from the runtime's context. */
export function lohaLayerShape(ctx: AdapterContext<LoHaConfig>): LoHaLayerShape {
  const { layer } = ctx;
  return {
    kind: layer.kind as LoHaLayerKind, // supportedKinds: only linear, conv1d and conv2d reach LoHa
    outFeatures: layer.outFeatures,
    inFeatures: layer.inFeatures,
    kernelSize: layer.kernelSize,
    groups: layer.groups,
  };
}

/** The shape-deciding options for this module (rank after `rank_pattern`). */
export function lohaShapeOptions(ctx: AdapterContext<LoHaConfig>): LoHaShapeOptions {
  return { r: ctx.r, useEffectiveConv2d: ctx.config.useEffectiveConv2d };
}

function conv(ctx: AdapterContext<LoHaConfig>): ConvOptions | undefined {
  return ctx.layer.conv ?? undefined;
}

/**
 * The LoHa variant for the adapter registry: PEFT's `LoHaLayer` hooks plus a
 * forward that uses the rank-≤r² Khatri–Rao form when it is cheaper than
 * materialising ΔW, and a backward that recomputes instead of keeping both
 * full products alive.
 */
export const lohaVariant: AdapterVariant<LoHaConfig> = {
  peftType: "LOHA",
  prefix: "hada_",
  parameterNames: LOHA_PARAM_NAMES,
  supportedKinds: ["linear", "conv1d", "conv2d"],
  createConfig: (options) => configFromFileOptions((o) => new LoHaConfig(o as LoHaConfigOptions), options),
  parameterLayout(ctx) {
    const { structure, params } = lohaParamShapes(lohaLayerShape(ctx), lohaShapeOptions(ctx));
    return { params, structure: { effective_conv: structure.effectiveConv } };
  },
  initParameters: (ctx, rng) =>
    initLoHaParams(lohaLayerShape(ctx), lohaShapeOptions(ctx), ctx.config.initWeights, rng),
  deltaWeight: (params, ctx, scaling, out) => lohaDeltaWeight(params, lohaLayerShape(ctx), scaling, out),
  forward: (x, params, ctx, scaling) => lohaForward(x, params, lohaLayerShape(ctx), scaling, conv(ctx)),
  backward: (x, params, ctx, scaling, dy) =>
    lohaBackward(x, params, lohaLayerShape(ctx), scaling, dy, conv(ctx)),
  mergeInto: (weight, params, ctx, scaling, scratch) =>
    lohaMergeInto(weight, params, lohaLayerShape(ctx), scaling, scratch),
  // PEFT's LoHa always divides the rank-dropout mask by its mean (it has no `rank_dropout_scale`)
  rankDropoutMask: (ctx, rng) => rankDropoutMask(ctx.layer.outFeatures, ctx.config.rankDropout, true, rng),
  describeParameters: lohaDescribeParameters,
  layerCandidates: lohaLayerCandidates,
  kohya: lohaKohya,
  deltaWeightSvd: (params, ctx, scaling, opts) =>
    lohaDeltaWeightSvd(params, lohaLayerShape(ctx), scaling, opts),
};
