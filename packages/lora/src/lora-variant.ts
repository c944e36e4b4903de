import { configFromFileOptions } from "@lycoris-ts/lycoris-config";
import type { AdapterContext, AdapterVariant } from "@lycoris-ts/runtime";
import { loraDescribeParameters } from "./files/lora-describe-parameters";
import { loraKohya } from "./files/lora-kohya";
import { loraLayerCandidates } from "./files/lora-layer-candidates";
import { loraBackward } from "./functional/backward";
import { loraDeltaWeight } from "./functional/delta-weight";
import { loraForward } from "./functional/forward";
import { checkLoraInit, initLoraParams } from "./functional/init-params";
import { checkLoraRank, LORA_PARAM_NAMES, loraParamShapes } from "./functional/param-shapes";
import type { LoraConvGeometry, LoraLayerKind, LoraLayerShape } from "./functional/types";
import { LoraConfig, type LoraConfigOptions } from "./lora-config";
import { loraExtractFromDelta } from "./lora-extract";

/** The layer shape the LoRA math takes, from the runtime's context (a conv's `inFeatures` is all its inputs). */
export function loraLayerShape(ctx: AdapterContext<LoraConfig>): LoraLayerShape {
  const { layer } = ctx;
  return {
    kind: layer.kind as LoraLayerKind, // supportedKinds: every runtime kind
    outFeatures: layer.outFeatures,
    inFeatures: layer.inFeatures * layer.groups,
    kernelSize: layer.kernelSize,
    groups: layer.groups,
  };
}

function conv(ctx: AdapterContext<LoraConfig>): LoraConvGeometry | undefined {
  return ctx.layer.conv ?? undefined;
}

/**
 * PEFT's per-layer dispatch when it creates a LoRA layer (`fan_in_fan_out` forced per layer kind on the
 * shared config, the grouped-conv warning and rank check), then `update_layer`'s init check.
 */
function prepareLayer(ctx: AdapterContext<LoraConfig>, existing: boolean): string[] {
  const layer = loraLayerShape(ctx);
  const warnings: string[] = [];
  const { config } = ctx;
  if (!existing) {
    if (layer.kind === "linear" && config.fanInFanOut) {
      warnings.push(
        "fan_in_fan_out is set to True but the target module is `torch.nn.Linear`. Setting fan_in_fan_out to False.",
      );
      config.fanInFanOut = false;
    } else if (layer.kind === "gpt2_conv1d" && !config.fanInFanOut) {
      warnings.push(
        "fan_in_fan_out is set to False but the target module is `Conv1D`. Setting fan_in_fan_out to True.",
      );
      config.fanInFanOut = true;
    }
    if (layer.groups > 1)
      warnings.push("LoRA adapter added to ConvNd layer with groups > 1. Merging is not supported.");
    checkLoraRank(layer, ctx.r);
  }
  checkLoraInit(layer, config.initLoraWeights);
  return warnings;
}

/**
 * The LoRA variant for the adapter registry: PEFT's `LoraLayer` for Linear, Conv1d/Conv2d, GPT-2 `Conv1D`
 * and Embedding — shapes, init, rsLoRA scaling, input dropout, ΔW, and the structured forward/backward
 * `lora_B(lora_A(x)) · scaling` that never materialises ΔW.
 */
export const loraVariant: AdapterVariant<LoraConfig> = {
  peftType: "LORA",
  prefix: "lora_",
  parameterNames: LORA_PARAM_NAMES,
  supportedKinds: ["linear", "conv1d", "conv2d", "embedding", "gpt2_conv1d"],
  createConfig: (options) => configFromFileOptions((o) => new LoraConfig(o as LoraConfigOptions), options),
  prepareLayer,
  scaling: (ctx) => (ctx.config.useRslora ? ctx.alpha / Math.sqrt(ctx.r) : ctx.alpha / ctx.r),
  inputDropout: (ctx) => (ctx.layer.kind === "embedding" ? 0 : ctx.config.loraDropout),
  parameterLayout(ctx) {
    const kind = ctx.layer.kind;
    return {
      params: loraParamShapes(loraLayerShape(ctx), ctx.r),
      structure: { fan_in_fan_out: kind === "gpt2_conv1d", use_rslora: ctx.config.useRslora },
    };
  },
  initParameters: (ctx, rng) => initLoraParams(loraLayerShape(ctx), ctx.r, ctx.config.initLoraWeights, rng),
  deltaWeight: (params, ctx, scaling, out) => loraDeltaWeight(params, loraLayerShape(ctx), scaling, out),
  forward: (x, params, ctx, scaling) => loraForward(x, params, loraLayerShape(ctx), scaling, conv(ctx)),
  backward: (x, params, ctx, scaling, dy) =>
    loraBackward(x, params, loraLayerShape(ctx), scaling, dy, conv(ctx)),
  describeParameters: loraDescribeParameters,
  layerCandidates: loraLayerCandidates,
  kohya: loraKohya,
  extractFromDelta: loraExtractFromDelta,
};
