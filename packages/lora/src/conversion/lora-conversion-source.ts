import type { FloatArray, Tensor } from "@lycoris-ts/kernels";
import type { LycorisConfig } from "@lycoris-ts/lycoris-config";
import {
  type AdaptableKind,
  type AdapterContext,
  type AdapterParams,
  type AdapterVariant,
  PEFT_KEY_PREFIX,
  type PeftModel,
} from "@lycoris-ts/runtime";

/** One adapted layer to convert: the source adapter's factors and what its variant needs to see. */
export interface LoraConversionLayer {
  /** The module path in the base model (`model.layers.0.self_attn.q_proj`). */
  readonly module: string;
  readonly variant: AdapterVariant<LycorisConfig>;
  readonly params: AdapterParams<FloatArray>;
  /** Config, r and alpha after the patterns, and the base layer's geometry. */
  readonly ctx: AdapterContext<LycorisConfig>;
  /** The adapter's scaling (baked into the LoRA factors). */
  readonly scaling: number;
}

/** An adapted layer of the model, whatever adapter it carries (PEFT's support check looks at every one). */
export interface LoraConversionTunerLayer {
  readonly module: string;
  readonly kind: AdaptableKind;
  /** The `peft_type` of the layer's first adapter (names PEFT's layer class in the refusal). */
  readonly peftType: string;
  /** Whether the layer carries the adapter being converted (multi-adapter models: not always). */
  readonly hasAdapter: boolean;
}

/**
 * What {@link convertToLora} converts: one adapter of a model, from a loaded `PeftModel`
 * ({@link peftModelConversionSource}) or from adapter files (`@lycoris-ts/adapter-files`' `convertAdapterToLora`).
 */
export interface LoraConversionSource {
  readonly adapterName: string;
  /** The adapter's config; `null` when the model has no adapter of that name. */
  readonly config: LycorisConfig | null;
  /** `target_modules` as PEFT stored it after injection (the resolved name set, or the regex string). */
  readonly targetModules: string | readonly string[] | null;
  /** The layers carrying the adapter, in model order. */
  readonly layers: readonly LoraConversionLayer[];
  /** Every adapted layer, in model order (also those without the adapter). */
  readonly tunerLayers: readonly LoraConversionTunerLayer[];
  /** The adapter's `modules_to_save` copies, under PEFT's converted keys (`base_model.model.<module>.<param>`). */
  readonly modulesToSave: ReadonlyMap<string, Tensor<Float32Array>>;
}

/** The conversion source of adapter `adapterName` of a loaded model. */
export function peftModelConversionSource(peft: PeftModel, adapterName = "default"): LoraConversionSource {
  const config = peft.peftConfig.get(adapterName) ?? null;
  const layers: LoraConversionLayer[] = [];
  const tunerLayers: LoraConversionTunerLayer[] = [];
  for (const [module, layer] of peft.adapterLayers()) {
    const first = layer.adapter(layer.adapterNames[0] ?? "");
    const a = layer.adapter(adapterName);
    tunerLayers.push({
      module,
      kind: layer.geometry.kind,
      peftType: first?.variant.peftType ?? config?.peftType ?? "",
      hasAdapter: a !== undefined,
    });
    if (a === undefined) continue;
    layers.push({
      module,
      variant: a.variant,
      params: layer.paramValues(adapterName),
      ctx: a.ctx,
      scaling: a.scaling,
    });
  }
  const modulesToSave = new Map<string, Tensor<Float32Array>>();
  for (const [path, wrapper] of peft.modulesToSaveWrappers()) {
    const copy = wrapper.copyOf(adapterName);
    if (copy === undefined) continue;
    // PEFT keeps only the parameter's last name component (`lm_head.weight`).
    for (const [name, p] of copy.namedParameters())
      modulesToSave.set(`${PEFT_KEY_PREFIX}${path}.${name.slice(name.lastIndexOf(".") + 1)}`, p.data);
  }
  return {
    adapterName,
    config,
    targetModules:
      config === null ? null : (peft.resolvedTargetModulesOf(adapterName) ?? config.targetModules),
    layers,
    tunerLayers,
    modulesToSave,
  };
}
