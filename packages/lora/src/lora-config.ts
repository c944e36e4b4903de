import {
  camelToSnake,
  LycorisConfig,
  LycorisConfigError,
  type LycorisConfigOptions,
  rejectUnknownOptions,
} from "@lycoris-ts/lycoris-config";
import type { AdapterVariant } from "@lycoris-ts/runtime";
import type { LoraInitWeights } from "./functional/types";
import { loraVariant } from "./lora-variant";

/** The shared options LoRA uses (LoRA spells alpha `loraAlpha` and has no rank/module dropout). */
type SharedOptions = Omit<LycorisConfigOptions, "alpha" | "rankDropout" | "moduleDropout" | "initWeights">;

/**
 * PEFT `LoraConfig` options this package does not implement. Each is accepted only at PEFT's default
 * (as every `adapter_config.json` PEFT writes lists them); any other value throws a
 * `LycorisConfigError` of kind `"not_supported"` naming the option.
 */
export interface UnsupportedLoraOptions {
  /** `use_dora` (default false). */
  useDora?: boolean;
  /** `lora_bias` (default false). */
  loraBias?: boolean;
  /** `use_qalora` (default false). */
  useQalora?: boolean;
  /** `ensure_weight_tying` (default false). */
  ensureWeightTying?: boolean;
  /** `loftq_config` (default `{}`). */
  loftqConfig?: Readonly<Record<string, unknown>>;
  /** `layer_replication`, `eva_config`, `corda_config`, ... (default null). */
  layerReplication?: unknown;
  evaConfig?: unknown;
  cordaConfig?: unknown;
  arrowConfig?: unknown;
  kasaConfig?: unknown;
  loraGaConfig?: unknown;
  montecloraConfig?: unknown;
  veloraConfig?: unknown;
  megatronConfig?: unknown;
  aloraInvocationTokens?: unknown;
  trainableTokenIndices?: unknown;
  targetParameters?: unknown;
  useBdlora?: unknown;
}

/** Options of {@link LoraConfig}: PEFT's `LoraConfig` fields in camelCase, with PEFT's defaults. */
export interface LoraConfigOptions extends SharedOptions, UnsupportedLoraOptions {
  /** `lora_alpha`, default 8; scaling is `loraAlpha / r` (or `/ √r` with `useRslora`). */
  loraAlpha?: number;
  /** `lora_dropout`: dropout on the adapter path's input in training, in [0, 1]; default 0. */
  loraDropout?: number;
  /** `use_rslora`: rank-stabilised scaling `loraAlpha / √r` (default false). */
  useRslora?: boolean;
  /**
   * `fan_in_fan_out`: the base weight is stored `[in, out]` (GPT-2 `Conv1D`). As PEFT, injection sets it per
   * layer (true on GPT-2 `Conv1D`, false on Linear, with a warning when that changes it). Default false.
   */
  fanInFanOut?: boolean;
  /** `bias`: only `"none"` (the default) is supported. */
  bias?: "none";
  /**
   * `init_lora_weights`: `true` (default; A Kaiming-uniform, B zero), `"gaussian"` (A normal(0, 1/r), B
   * zero) or `false` (both random). PEFT's data-driven inits (`"pissa"`, `"olora"`, `"loftq"`, `"eva"`,
   * `"corda"`, `"orthogonal"`, ...) are not supported; other strings fail at injection, as in PEFT.
   */
  initLoraWeights?: LoraInitWeights;
  /** Bookkeeping: `megatron_core` (default `"megatron.core"`), kept as written. */
  megatronCore?: string;
  /** Bookkeeping: `qalora_group_size` (default 16), kept as written. */
  qaloraGroupSize?: number;
}

/** Unsupported PEFT options with their defaults (the only accepted value). */
const UNSUPPORTED_DEFAULTS: Readonly<Record<keyof UnsupportedLoraOptions, unknown>> = {
  useDora: false,
  loraBias: false,
  useQalora: false,
  ensureWeightTying: false,
  loftqConfig: {},
  layerReplication: null,
  evaConfig: null,
  cordaConfig: null,
  arrowConfig: null,
  kasaConfig: null,
  loraGaConfig: null,
  montecloraConfig: null,
  veloraConfig: null,
  megatronConfig: null,
  aloraInvocationTokens: null,
  trainableTokenIndices: null,
  targetParameters: null,
  useBdlora: null,
};

/** PEFT's initialisations that need data or the base weights (not implemented here). */
const UNSUPPORTED_INITS = /^(pissa.*|corda.*|olora|loftq|eva|orthogonal|lora_ga)$/i;

const SUPPORTED_FIELDS =
  "r, lora_alpha, use_rslora, lora_dropout, target_modules, exclude_modules, layers_to_transform, " +
  'layers_pattern, rank_pattern, alpha_pattern, modules_to_save, init_lora_weights (true, false, "gaussian"), ' +
  'fan_in_fan_out, bias "none"';

function notSupported(field: string, value: unknown, what: string): never {
  const snake = camelToSnake(field);
  throw new LycorisConfigError(
    "not_supported",
    `LoRA option \`${snake}=${JSON.stringify(value)}\` (${what}) is not supported by @lycoris-ts/lora; supported: ${SUPPORTED_FIELDS}.`,
    { field, expected: `the default ${snake}`, received: value },
  );
}

function invalid(field: string, expected: string, received: unknown): never {
  throw new LycorisConfigError(
    "invalid_value",
    `Invalid value for \`${field}\`: expected ${expected}, got ${JSON.stringify(received)}.`,
    { field, expected, received },
  );
}

function bool(field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") invalid(field, "a boolean", value);
  return value;
}

function number(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value)) invalid(field, "a finite number", value);
  return value;
}

/** PEFT `LoraConfig.__post_init__`'s checks that come before the shared ones (a string target is a regex). */
function checkRegexTargetLayers(o: LoraConfigOptions): void {
  if (typeof o.targetModules !== "string") return;
  if (o.layersToTransform !== undefined && o.layersToTransform !== null) {
    throw new LycorisConfigError(
      "layers_to_transform_with_regex_target",
      "`layers_to_transform` cannot be used when `target_modules` is a str.",
      { field: "layersToTransform", expected: "null with a regex target", received: o.layersToTransform },
    );
  }
  if (o.layersPattern !== undefined && o.layersPattern !== null) {
    throw new LycorisConfigError(
      "layers_pattern_with_regex_target",
      "`layers_pattern` cannot be used when `target_modules` is a str.",
      { field: "layersPattern", expected: "null with a regex target", received: o.layersPattern },
    );
  }
}

/** The shared options LoRA takes (LyCORIS' `alpha`, dropouts and `initWeights` are not LoRA options). */
const SHARED_LORA_OPTIONS = [
  "r",
  "targetModules",
  "excludeModules",
  "layersToTransform",
  "layersPattern",
  "rankPattern",
  "alphaPattern",
  "modulesToSave",
  "inferenceMode",
  "taskType",
  "baseModelNameOrPath",
  "revision",
  "peftVersion",
  "autoMapping",
] as const;

/** Every option {@link LoraConfig} takes; any other key is an `unknown_option` error, as PEFT's `TypeError`. */
const LORA_OPTIONS: readonly string[] = [
  ...SHARED_LORA_OPTIONS,
  "loraAlpha",
  "loraDropout",
  "useRslora",
  "fanInFanOut",
  "bias",
  "initLoraWeights",
  "megatronCore",
  "qaloraGroupSize",
  ...Object.keys(UNSUPPORTED_DEFAULTS),
];

function shared(o: LoraConfigOptions, loraAlpha: number): LycorisConfigOptions {
  checkRegexTargetLayers(o);
  const picked: Record<string, unknown> = { alpha: loraAlpha };
  for (const key of SHARED_LORA_OPTIONS) {
    if (o[key] !== undefined) picked[key] = o[key];
  }
  return picked as LycorisConfigOptions;
}

/**
 * PEFT's `LoraConfig` (core options): low-rank adapters `ΔW = scaling · B·A` on Linear, Conv1d/Conv2d,
 * GPT-2 `Conv1D` and Embedding layers, with PEFT's validation, defaults and `adapter_config.json` keys.
 * Every other PEFT LoRA option is accepted only at its default (see {@link UnsupportedLoraOptions}).
 *
 * @example
 * const config = new LoraConfig({ r: 8, loraAlpha: 16, targetModules: ["q_proj", "v_proj"], useRslora: true });
 */
export class LoraConfig extends LycorisConfig {
  readonly loraAlpha: number;
  readonly loraDropout: number;
  readonly useRslora: boolean;
  /** Mutable, as in PEFT: injection sets it per adapted Linear / GPT-2 `Conv1D` layer (see the option). */
  fanInFanOut: boolean;
  readonly bias: "none";
  readonly initLoraWeights: LoraInitWeights;
  readonly megatronCore: string;
  readonly qaloraGroupSize: number;
  readonly useDora: boolean;
  readonly loraBias: boolean;
  readonly useQalora: boolean;
  readonly ensureWeightTying: boolean;
  readonly loftqConfig: Readonly<Record<string, unknown>>;
  readonly layerReplication: null;
  readonly evaConfig: null;
  readonly cordaConfig: null;
  readonly arrowConfig: null;
  readonly kasaConfig: null;
  readonly loraGaConfig: null;
  readonly montecloraConfig: null;
  readonly veloraConfig: null;
  readonly megatronConfig: null;
  readonly aloraInvocationTokens: null;
  readonly trainableTokenIndices: null;
  readonly targetParameters: null;
  readonly useBdlora: null;

  constructor(options: LoraConfigOptions = {}) {
    if (typeof options === "object" && options !== null) {
      rejectUnknownOptions(new.target.name, options as Record<string, unknown>, LORA_OPTIONS);
    }
    const loraAlpha = number("loraAlpha", options.loraAlpha, 8);
    super("LORA", shared(options, loraAlpha));
    // LyCORIS fields LoRA does not have: kept for the runtime, never written to adapter_config.json.
    for (const hidden of ["alpha", "rankDropout", "moduleDropout", "initWeights"]) {
      Object.defineProperty(this, hidden, { enumerable: false });
    }
    this.loraAlpha = loraAlpha;
    const dropout = number("loraDropout", options.loraDropout, 0);
    if (dropout < 0 || dropout > 1) invalid("loraDropout", "a probability in [0, 1]", dropout);
    this.loraDropout = dropout;
    this.useRslora = bool("useRslora", options.useRslora, false);
    this.fanInFanOut = bool("fanInFanOut", options.fanInFanOut, false);
    const bias = options.bias ?? "none";
    if (bias !== "none") notSupported("bias", bias, "trainable biases");
    this.bias = bias;
    const init = options.initLoraWeights ?? true;
    if (typeof init !== "boolean" && typeof init !== "string") {
      invalid("initLoraWeights", 'true, false or "gaussian"', init);
    }
    if (typeof init === "string" && UNSUPPORTED_INITS.test(init)) {
      notSupported("initLoraWeights", init, "a data-driven initialisation");
    }
    this.initLoraWeights = init;
    this.megatronCore = options.megatronCore ?? "megatron.core";
    if (typeof this.megatronCore !== "string") invalid("megatronCore", "a string", this.megatronCore);
    this.qaloraGroupSize = number("qaloraGroupSize", options.qaloraGroupSize, 16);
    const o = options as Record<string, unknown>;
    for (const [field, fallback] of Object.entries(UNSUPPORTED_DEFAULTS)) {
      const value = o[field] === undefined ? fallback : o[field];
      if (JSON.stringify(value) !== JSON.stringify(fallback)) notSupported(field, value, "a PEFT extension");
    }
    this.useDora = false;
    this.loraBias = false;
    this.useQalora = false;
    this.ensureWeightTying = false;
    this.loftqConfig = Object.freeze({});
    this.layerReplication = null;
    this.evaConfig = null;
    this.cordaConfig = null;
    this.arrowConfig = null;
    this.kasaConfig = null;
    this.loraGaConfig = null;
    this.montecloraConfig = null;
    this.veloraConfig = null;
    this.megatronConfig = null;
    this.aloraInvocationTokens = null;
    this.trainableTokenIndices = null;
    this.targetParameters = null;
    this.useBdlora = null;
  }

  /** The LoRA adapter variant (how the runtime finds the math for this config). */
  get variant(): AdapterVariant<LoraConfig> {
    return loraVariant;
  }
}
