import { type FloatArray, kaimingUniform, matmul, reshape, type Tensor, zeros } from "@lycoris-ts/kernels";
import { configFromFileOptions, LycorisConfig, type LycorisConfigOptions } from "@lycoris-ts/lycoris-config";
import {
  type AdapterContext,
  type AdapterRegistry,
  type AdapterVariant,
  defaultRegistry,
  type Module,
  PeftModel,
  type PeftModelOptions,
} from "@lycoris-ts/runtime";
import { loconDescribeParameters, loconLayerCandidates } from "./locon-file-hooks";

/** LoCon's config: the shared LyCORIS options, nothing else (`[]`: no own options; unknown keys are rejected). */
export class LoConConfig extends LycorisConfig {
  constructor(options: LycorisConfigOptions = {}) {
    super("LOCON", options, []);
  }

  /** Lets `getPeftModel` find the variant without a registry lookup. */
  get variant(): AdapterVariant<LoConConfig> {
    return loconVariant;
  }
}

/** `in · ∏kernel`: the columns of the weight seen as a matrix. */
function fanIn(ctx: AdapterContext): number {
  return ctx.layer.inFeatures * ctx.layer.kernelSize.reduce((a, b) => a * b, 1);
}

function scaled<A extends FloatArray>(t: Tensor<A>, s: number): Tensor<A> {
  for (let i = 0; i < t.data.length; i++) t.data[i] = t.data[i]! * s;
  return t;
}

/**
 * LoCon (LoRA for linear and conv layers): `ΔW = (alpha / r) · B·A` with
 * `locon_a: [r, in·∏kernel]` and `locon_b: [out, r]`, B starting at zero.
 */
export const loconVariant: AdapterVariant<LoConConfig> = {
  peftType: "LOCON",
  prefix: "locon_",
  parameterNames: ["locon_a", "locon_b"],
  supportedKinds: ["linear", "conv1d", "conv2d"],
  createConfig: (options) => configFromFileOptions((o) => new LoConConfig(o), options),

  parameterLayout: (ctx) => ({
    params: [
      ["locon_a", [ctx.r, fanIn(ctx)]],
      ["locon_b", [ctx.layer.outFeatures, ctx.r]],
    ],
  }),

  initParameters: (ctx, rng) => ({
    locon_a: kaimingUniform([ctx.r, fanIn(ctx)], rng),
    locon_b:
      ctx.config.initWeights === false
        ? kaimingUniform([ctx.layer.outFeatures, ctx.r], rng)
        : zeros([ctx.layer.outFeatures, ctx.r]),
  }),

  // `out`: the caller's scratch for ΔW (optional to honour; merges reuse one buffer across modules)
  deltaWeight: (p, ctx, scaling, out) =>
    reshape(scaled(matmul(p.locon_b!, p.locon_a!, { out }), scaling), ctx.layer.weightShape),

  deltaWeightBackward: (p, ctx, scaling, dDelta) => {
    const d = reshape(dDelta, [ctx.layer.outFeatures, fanIn(ctx)]);
    return {
      locon_a: scaled(matmul(p.locon_b!, d, { transA: true }), scaling),
      locon_b: scaled(matmul(d, p.locon_a!, { transB: true }), scaling),
    };
  },

  // for `lycoris --plugin`: inspect, validate, merge (no kohya hook: LoCon files are LoRA's format)
  describeParameters: loconDescribeParameters,
  layerCandidates: loconLayerCandidates,
};

/** Registers LoCon so saved LoCon directories load by `peft_type`. */
export function registerLoCon(registry: AdapterRegistry = defaultRegistry): void {
  registry.register(loconVariant);
}

/** `get_peft_model` for LoCon. */
export function getLoConModel(
  model: Module,
  config: LoConConfig,
  name = "default",
  options: PeftModelOptions = {},
): PeftModel {
  return new PeftModel(model, config, name, options);
}
