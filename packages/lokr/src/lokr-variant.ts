import type { ConvOptions } from "@lycoris-ts/kernels";
import { configFromFileOptions } from "@lycoris-ts/lycoris-config";
import type { AdapterContext, AdapterVariant } from "@lycoris-ts/runtime";
import { lokrDescribeParameters } from "./files/lokr-describe-parameters";
import { lokrKohya } from "./files/lokr-kohya";
import { lokrLayerCandidates } from "./files/lokr-layer-candidates";
import { LOKR_PARAM_NAMES } from "./files/lokr-parameter-names";
import { lokrBackward } from "./functional/backward";
import { lokrDeltaWeight } from "./functional/delta-weight";
import { lokrDeltaWeightSvd } from "./functional/delta-weight-svd";
import { lokrForward } from "./functional/forward";
import { initLoKrParams } from "./functional/init-params";
import { lokrMergeInto } from "./functional/merge-into";
import { lokrParamShapes } from "./functional/param-shapes";
import type { LoKrLayerKind, LoKrLayerShape, LoKrShapeOptions } from "./functional/types";
import { LoKrConfig, type LoKrConfigOptions } from "./lokr-config";
import { lokrExtractFromDelta } from "./lokr-extract";

/** The layer shape the LoKr math takes, from the runtime's context. */
export function lokrLayerShape(ctx: AdapterContext<LoKrConfig>): LoKrLayerShape {
  const { layer } = ctx;
  return {
    kind: layer.kind as LoKrLayerKind, // supportedKinds: only linear, conv1d and conv2d reach LoKr
    outFeatures: layer.outFeatures,
    inFeatures: layer.inFeatures,
    kernelSize: layer.kernelSize,
    groups: layer.groups,
  };
}

/** The shape-deciding options for this module (rank after `rank_pattern`). */
export function lokrShapeOptions(ctx: AdapterContext<LoKrConfig>): LoKrShapeOptions {
  return {
    r: ctx.r,
    decomposeBoth: ctx.config.decomposeBoth,
    decomposeFactor: ctx.config.decomposeFactor,
    useEffectiveConv2d: ctx.config.useEffectiveConv2d,
  };
}

function conv(ctx: AdapterContext<LoKrConfig>): ConvOptions | undefined {
  return ctx.layer.conv ?? undefined;
}

/**
 * The LoKr variant for the adapter registry: PEFT's `LoKrLayer` hooks (shapes,
 * init, delta weight) plus a structured forward/backward that never
 * materialises `kron(w1, w2)` where applying the factors is cheaper.
 */
export const lokrVariant: AdapterVariant<LoKrConfig> = {
  peftType: "LOKR",
  prefix: "lokr_",
  parameterNames: LOKR_PARAM_NAMES,
  supportedKinds: ["linear", "conv1d", "conv2d"],
  createConfig: (options) => configFromFileOptions((o) => new LoKrConfig(o as LoKrConfigOptions), options),
  parameterLayout(ctx) {
    const { structure, params } = lokrParamShapes(lokrLayerShape(ctx), lokrShapeOptions(ctx));
    return {
      params,
      structure: {
        w1: structure.w1,
        w2: structure.w2,
        out: [...structure.outFactors],
        in: [...structure.inFactors],
      },
    };
  },
  initParameters: (ctx, rng) =>
    initLoKrParams(lokrLayerShape(ctx), lokrShapeOptions(ctx), ctx.config.initWeights, rng),
  deltaWeight: (params, ctx, scaling, out) =>
    lokrDeltaWeight(params, lokrLayerShape(ctx), scaling, { layout: ctx.config.deltaLayout, out }),
  forward: (x, params, ctx, scaling) =>
    lokrForward(x, params, lokrLayerShape(ctx), scaling, conv(ctx), { layout: ctx.config.deltaLayout }),
  backward: (x, params, ctx, scaling, dy) =>
    lokrBackward(x, params, lokrLayerShape(ctx), scaling, dy, conv(ctx), { layout: ctx.config.deltaLayout }),
  mergeInto: (weight, params, ctx, scaling, scratch) =>
    lokrMergeInto(weight, params, lokrLayerShape(ctx), scaling, {
      layout: ctx.config.deltaLayout,
      out: scratch,
    }),
  describeParameters: lokrDescribeParameters,
  layerCandidates: lokrLayerCandidates,
  kohya: lokrKohya,
  deltaWeightSvd: (params, ctx, scaling, opts) =>
    lokrDeltaWeightSvd(params, lokrLayerShape(ctx), scaling, { ...opts, layout: ctx.config.deltaLayout }),
  extractFromDelta: lokrExtractFromDelta,
};
