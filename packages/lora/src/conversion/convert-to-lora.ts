import type { Tensor } from "@lycoris-ts/kernels";
import { resolveRankAndAlpha, selectTargetModules } from "@lycoris-ts/lycoris-config";
import {
  type AdaptableKind,
  type DeltaWeightSvdOptions,
  describeModel,
  isAdaptableLayer,
  type LoraRank,
  LycorisLayer,
  layerDeltaSvd,
  layerGeometry,
  loraFactors,
  PEFT_KEY_PREFIX,
  PeftModel,
  resolveLoraRank,
} from "@lycoris-ts/runtime";
import { LoraError } from "../functional/lora-error";
import { loraParamShapes } from "../functional/param-shapes";
import { LoraConfig, type LoraConfigOptions } from "../lora-config";
import { loraVariant } from "../lora-variant";
import {
  type LoraConversionSource,
  type LoraConversionTunerLayer,
  peftModelConversionSource,
} from "./lora-conversion-source";
import { loraModuleTensors } from "./lora-module-tensors";

/** Options of {@link convertToLora}. */
export interface ConvertToLoraOptions {
  /**
   * A fixed rank (a positive integer) or an energy threshold in (0, 1] (per layer, the smallest rank whose singular
   * values keep that fraction of ‖ΔW‖²_F, PEFT's float32 rule). A plain number is a rank when it is an integer,
   * a threshold otherwise; write the threshold 1.0 as `{ threshold: 1 }` (PEFT tells `1` from `1.0` by type).
   */
  readonly rank: number | LoraRank;
  /** The adapter to convert (default `"default"`). */
  readonly adapterName?: string;
  /**
   * Behave exactly as PEFT's `convert_to_lora`: refuse the whole model, with PEFT's `TypeError` text, when any
   * adapted layer is not a linear layer (PEFT converts no convolution). Default false: convs convert too.
   */
  readonly peftCompatible?: boolean;
  /** How each layer's SVD is computed (runtime's `layerDeltaSvd`; default `"auto"`). */
  readonly svdPath?: DeltaWeightSvdOptions["path"];
  /** Called after each converted layer. */
  readonly onProgress?: (event: {
    readonly done: number;
    readonly total: number;
    readonly module: string;
  }) => void;
}

/** How one layer was converted. */
export interface LoraLayerReport {
  readonly module: string;
  readonly kind: AdaptableKind;
  /** The base weight's shape. */
  readonly weightShape: readonly number[];
  /** ΔW as the matrix that was decomposed: `[out, in/groups · ∏kernel]`. */
  readonly matrixShape: readonly [number, number];
  /** The truncation rank k (the rank of `B·A`). */
  readonly rank: number;
  /** PEFT's LoRA `r` of the module (`k`, or `groups · k` for a grouped conv). */
  readonly r: number;
  /** `Σ_{i<k} Sᵢ² / Σ Sᵢ²`. */
  readonly energyKept: number;
  /** `‖ΔW − B·A‖_F / ‖ΔW‖_F`, from the singular values. */
  readonly relativeError: number;
}

/** A LoRA adapter made by {@link convertToLora}: what PEFT's `convert_to_lora` returns, and a report. */
export interface LoraConversion {
  /** PEFT's returned `LoraConfig` (`r = lora_alpha`, per-layer ranks in `rank_pattern` / `alpha_pattern`). */
  readonly config: LoraConfig;
  /** The state dict: `base_model.model.<module>.lora_A.weight` / `.lora_B.weight` in model order, then `modules_to_save` copies. */
  readonly weights: ReadonlyMap<string, Tensor<Float32Array>>;
  /** One entry per converted layer, in model order. */
  readonly layers: readonly LoraLayerReport[];
  /** What a user should know about the result (PEFT's warning for a LoRA source; conv caveats of PEFT's LoRA). */
  readonly warnings: readonly string[];
  /**
   * `target_modules` as PEFT's `save_pretrained` writes it once the config is injected into the model (a list of
   * 20 or more names condensed to suffixes); `null` when converted without the model (files): the config's own.
   */
  readonly savedTargetModules: string | readonly string[] | null;
  /**
   * LoRA tensors of the modules the new config targets in the model but the conversion did not produce (PEFT drops
   * the source's `exclude_modules`), both factors zero: they add nothing, and written with the adapter (as PEFT's
   * `save_pretrained` writes their init, `lora_B = 0`) they let the folder load with every parameter present.
   */
  readonly targetedInitWeights: ReadonlyMap<string, Tensor<Float32Array>>;
}

/** What saving needs of the model: the targets the new config resolves to, and zero LoRA tensors for the unconverted ones. */
function savedTargets(
  peft: PeftModel,
  config: LoraConfig,
  converted: ReadonlySet<string>,
  warnings: string[],
): Pick<LoraConversion, "savedTargetModules" | "targetedInitWeights"> {
  const init = new Map<string, Tensor<Float32Array>>();
  let selection: ReturnType<typeof selectTargetModules>;
  try {
    selection = selectTargetModules(config, describeModel(peft.model, peft.facts), {
      supportedKinds: loraVariant.supportedKinds ?? [],
      validateRanks: false,
    });
  } catch {
    return { savedTargetModules: null, targetedInitWeights: init }; // the config does not fit the model: saved as is
  }
  const extra = selection.targets.filter((m) => !converted.has(m));
  for (const module of extra) {
    const m = peft.model.getSubmodule(module);
    const layer = m instanceof LycorisLayer ? m.geometry : isAdaptableLayer(m) ? layerGeometry(m) : null;
    if (layer === null) continue;
    const { r } = resolveRankAndAlpha(config, module);
    const shape = { ...layer, inFeatures: layer.inFeatures * layer.groups, kind: layer.kind };
    for (const [name, dims] of loraParamShapes(shape, r))
      init.set(`${PEFT_KEY_PREFIX}${module}.${name}`, {
        data: new Float32Array(dims.reduce((a, b) => a * b, 1)),
        shape: [...dims],
      });
  }
  if (extra.length > 0) {
    warnings.push(
      `the LoRA config also targets ${extra.join(", ")}, which the source adapter did not adapt (PEFT drops exclude_modules); ` +
        "they are saved with zero LoRA factors and add nothing",
    );
  }
  return { savedTargetModules: selection.resolvedTargetModules, targetedInitWeights: init };
}

/** The kinds PEFT's convert_to_lora converts (a GPT-2 `Conv1D` sits in PEFT's `Linear` class). */
const PEFT_CONVERTIBLE: ReadonlySet<AdaptableKind> = new Set(["linear", "gpt2_conv1d"]);
const PEFT_CLASS: Readonly<Record<AdaptableKind, string>> = {
  linear: "Linear",
  gpt2_conv1d: "Linear",
  conv1d: "Conv1d",
  conv2d: "Conv2d",
  embedding: "Embedding",
};

function checkSupport(tuner: readonly LoraConversionTunerLayer[], peftCompatible: boolean): void {
  const unsupported = peftCompatible ? tuner.filter((l) => !PEFT_CONVERTIBLE.has(l.kind)) : [];
  if (unsupported.length > 0) {
    const classes = [
      ...new Set(
        unsupported.map(
          (l) => `<class 'peft.tuners.${l.peftType.toLowerCase()}.layer.${PEFT_CLASS[l.kind]}'>`,
        ),
      ),
    ];
    throw new LoraError(
      "conversion_unsupported_layer",
      `Some module types on this model do not support LoRA conversion: ${classes.join(", ")}.`,
      {
        field: unsupported[0]!.module,
        expected: "only linear layers (peftCompatible: PEFT converts no convolution)",
        received: [...new Set(unsupported.map((l) => l.kind))].join(", "),
      },
    );
  }
  if (tuner.length === 0) {
    throw new LoraError("conversion_no_layer", "Could not detect any layer that supports LoRA conversion.", {
      field: "model",
      expected: "a model with adapter layers",
      received: "no adapter layer",
    });
  }
}

function knownAdapter(source: LoraConversionSource): NonNullable<LoraConversionSource["config"]> {
  if (source.config === null) {
    throw new LoraError(
      "conversion_missing_adapter",
      `the model has no adapter named "${source.adapterName}"`,
      {
        field: "adapterName",
        expected: "the name of one of the model's adapters",
        received: source.adapterName,
      },
    );
  }
  return source.config;
}

function missingAdapter(source: LoraConversionSource): LoraError {
  const missing = source.tunerLayers.filter((l) => !l.hasAdapter).map((l) => l.module);
  return new LoraError(
    "conversion_missing_adapter",
    `adapter "${source.adapterName}" is not on every adapted layer (missing on ${missing.join(", ")}): the model's adapters target different modules, ` +
      "where PEFT's convert_to_lora fails with an AttributeError; convert a model that holds only this adapter",
    { field: "adapterName", expected: "an adapter on every adapted layer", received: missing.join(", ") },
  );
}

const asList = (t: string | readonly string[] | null): string | string[] | null =>
  t === null || typeof t === "string" ? t : [...t];

/**
 * PEFT's `convert_to_lora(model, rank, adapter_name)`: every adapted layer's ΔW (scaling included) becomes its
 * best rank-k approximation `B·A` (`B = U_k·diag(S_k)`, `A = V_kᵀ`; for a GPT-2 `Conv1D`, PEFT's transposed
 * pair), with PEFT's rank rules and errors and PEFT's `LoraConfig` (`r = lora_alpha = rank`, or 1 for a
 * threshold; a layer whose rank differs from `rank`, or every layer when `target_modules` is a regex, gets
 * `rank_pattern` / `alpha_pattern` entries, the others join `target_modules`; `layers_to_transform`,
 * `layers_pattern`, `base_model_name_or_path` and `modules_to_save` are copied, `exclude_modules` is dropped).
 * The SVD comes from the variant's `deltaWeightSvd` hook (LoKr, LoHa: without building ΔW).
 *
 * Beyond PEFT: Conv1d / Conv2d layers convert (ΔW as `[out, in/groups · ∏kernel]`; see `loraModuleTensors`),
 * unless `peftCompatible`. Where PEFT returns something unusable, this throws instead: a negative rank
 * (runtime's `AdapterError` `invalid_rank`), an adapter missing from some adapted layer or unknown
 * (`LoraError` `conversion_missing_adapter`).
 *
 * @throws AdapterError `invalid_rank` (PEFT's messages), LoraError `conversion_*`, LycorisConfigError (the source
 *   config LoraConfig rejects, PEFT's message).
 */
export function convertToLora(
  model: PeftModel | LoraConversionSource,
  options: ConvertToLoraOptions,
): LoraConversion {
  // PEFT does not check a negative rank: it converts (slicing from the end) and returns a config that cannot be
  // loaded. Ours refuses it (runtime's `invalid_rank`) where PEFT's conversion would have returned, so PEFT's
  // other errors come first, as in PEFT.
  const r = options.rank;
  const fixed = typeof r === "number" ? r : "rank" in r ? r.rank : Number.NaN;
  const negative = Number.isSafeInteger(fixed) && fixed < 0;
  const spec = resolveLoraRank(negative ? 1 : r);
  const source =
    model instanceof PeftModel ? peftModelConversionSource(model, options.adapterName ?? "default") : model;
  checkSupport(source.tunerLayers, options.peftCompatible === true);
  const warnings: string[] = [];
  if (source.config?.peftType === "LORA") {
    warnings.push(
      "Converting a PEFT adapter to LoRA that is already a LoRA adapter. There is typically no need for that.",
    );
  }
  const src = knownAdapter(source);
  const r0 = "rank" in spec ? spec.rank : 1;
  const targetModules = asList(source.targetModules);
  const base: LoraConfigOptions = {
    r: r0,
    loraAlpha: r0,
    targetModules,
    excludeModules: [],
    layersToTransform: src.layersToTransform,
    layersPattern: src.layersPattern,
    baseModelNameOrPath: src.baseModelNameOrPath,
    autoMapping: src.autoMapping,
  };
  new LoraConfig(base); // PEFT builds the LoraConfig (and its checks raise) before converting any layer

  const weights = new Map<string, Tensor<Float32Array>>();
  const layers: LoraLayerReport[] = [];
  const rankPattern: Record<string, number> = {};
  const added: string[] = [];
  const total = source.layers.length;
  const byModule = new Map(source.layers.map((l) => [l.module, l]));
  // Model order, as PEFT: a layer without the adapter stops the conversion where PEFT's AttributeError would.
  for (const tuner of source.tunerLayers) {
    const l = byModule.get(tuner.module);
    if (l === undefined) throw missingAdapter(source);
    if (negative) continue;
    const svd = layerDeltaSvd(l.variant, l.params, l.ctx, l.scaling, { path: options.svdPath ?? "auto" });
    const f = loraFactors(svd, spec, l.module, {
      singularValuesOn: l.ctx.layer.kind === "gpt2_conv1d" ? "a" : "b",
    });
    const t = loraModuleTensors(l.module, l.ctx.layer, f.loraB, f.loraA);
    for (const [key, tensor] of t.entries) weights.set(key, tensor);
    // PEFT: `effective_rank != rank` (a float threshold never equals an int, except 1 == 1.0) or a regex target.
    const same = "rank" in spec ? t.r === spec.rank : t.r === 1 && spec.threshold === 1;
    if (!same || typeof targetModules === "string") rankPattern[l.module] = t.r;
    else added.push(l.module);
    layers.push({
      module: l.module,
      kind: l.ctx.layer.kind,
      weightShape: l.ctx.layer.weightShape,
      matrixShape: [svd.rows, svd.cols],
      rank: f.rank,
      r: t.r,
      energyKept: f.energyKept,
      relativeError: f.relativeError,
    });
    const conv = l.ctx.layer.conv;
    if (conv?.dilation.some((d) => d !== 1)) {
      warnings.push(
        `${l.module}: a dilated conv; PEFT's LoRA applies lora_A without the dilation, so the unmerged LoRA output differs from conv(x, B·A) (merging is exact)`,
      );
    }
    if (l.ctx.layer.groups > 1) {
      warnings.push(
        `${l.module}: a grouped conv (groups=${l.ctx.layer.groups}); PEFT's LoRA runs it (r = groups · k) but cannot merge it`,
      );
    }
    options.onProgress?.({ done: layers.length, total, module: l.module });
  }
  if (negative) resolveLoraRank(r); // throws
  const modulesToSave =
    src.modulesToSave !== null && src.modulesToSave.length > 0 ? [...src.modulesToSave] : null;
  if (modulesToSave !== null) for (const [key, tensor] of source.modulesToSave) weights.set(key, tensor);
  const config: LoraConfig = new LoraConfig({
    ...base,
    // PEFT adds to the set it copied; a source without target_modules gets the converted modules.
    targetModules:
      targetModules === null
        ? layers.map((l) => l.module)
        : typeof targetModules === "string"
          ? targetModules
          : [...new Set([...targetModules, ...added])],
    rankPattern,
    alphaPattern: { ...rankPattern },
    modulesToSave,
  });
  const saving =
    model instanceof PeftModel
      ? savedTargets(model, config, new Set(layers.map((l) => l.module)), warnings)
      : { savedTargetModules: null, targetedInitWeights: new Map<string, Tensor<Float32Array>>() };
  return { config, weights, layers, warnings, ...saving };
}
