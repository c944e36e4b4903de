import { invalidValueError, LycorisConfigError } from "./errors";
import { peftSilentWarningMessage } from "./peft-silent-warnings";
import { pythonStrRepr } from "./python-repr";
import { isPeftTaskType, PEFT_TASK_TYPES, type PeftTaskType } from "./task-type";

/** `init_weights`: PEFT's default initialisation (`true`), none (`false`), or LyCORIS' scheme (`"lycoris"`). */
export type InitWeights = boolean | "lycoris";

/** Options of {@link LycorisConfig}; every field is optional and takes PEFT's default when omitted. */
export interface LycorisConfigOptions {
  /** Rank (`r`), default 8. Checked (> 0) when an adapter is injected, as PEFT does. */
  r?: number;
  /** `alpha`, default 8; scaling is `alpha / r`. */
  alpha?: number;
  /** `rank_dropout`, default 0. */
  rankDropout?: number;
  /** `module_dropout`, default 0. */
  moduleDropout?: number;
  /** `init_weights`, default `true`. */
  initWeights?: InitWeights;
  /** List: names or dotted suffixes; string: a Python full-match regex, or `"all-linear"`; null: model-type default. */
  targetModules?: string | readonly string[] | null;
  /** Same forms as `targetModules` (no `"all-linear"`); matching modules are never adapted. */
  excludeModules?: string | readonly string[] | null;
  /** Layer indices to adapt (list targets only). */
  layersToTransform?: number | readonly number[] | null;
  /** Name(s) of the module list holding the layers (Python regex fragments). */
  layersPattern?: string | readonly string[] | null;
  /** Module-name regex → rank; the first matching key in key order wins. */
  rankPattern?: Readonly<Record<string, number>>;
  /** Module-name regex → alpha; the first matching key in key order wins. */
  alphaPattern?: Readonly<Record<string, number>>;
  /** Modules trained and saved in full next to the adapter. */
  modulesToSave?: readonly string[] | null;
  /** `inference_mode`, default false (always written as true to `adapter_config.json`, like PEFT). */
  inferenceMode?: boolean;
  /** One of PEFT's task types, or null. */
  taskType?: string | null;
  /** Bookkeeping: the base model's name or path. */
  baseModelNameOrPath?: string | null;
  /** Bookkeeping: the base model's revision. */
  revision?: string | null;
  /** Bookkeeping: the PEFT version that wrote the config. */
  peftVersion?: string | null;
  /** Bookkeeping: PEFT's `auto_mapping`. */
  autoMapping?: Record<string, unknown> | null;
}

/** Every option of {@link LycorisConfigOptions} (the compiler keeps this list complete). */
const SHARED_OPTIONS: Readonly<Record<keyof LycorisConfigOptions, true>> = Object.freeze({
  r: true,
  alpha: true,
  rankDropout: true,
  moduleDropout: true,
  initWeights: true,
  targetModules: true,
  excludeModules: true,
  layersToTransform: true,
  layersPattern: true,
  rankPattern: true,
  alphaPattern: true,
  modulesToSave: true,
  inferenceMode: true,
  taskType: true,
  baseModelNameOrPath: true,
  revision: true,
  peftVersion: true,
  autoMapping: true,
});

function invalid(field: string, expected: string, received: unknown): never {
  throw invalidValueError(field, expected, received);
}

/**
 * PEFT's dataclass constructor rejects unexpected keyword arguments (`TypeError`); so do we, naming them
 * all: throws a {@link LycorisConfigError} of kind `"unknown_option"` (`received`: the unknown keys) when
 * `options` has a defined key outside `known`. {@link LycorisConfig} calls it with the shared options plus
 * a variant's own; a config whose option set differs from the shared one (LoRA has no `alpha`) calls it
 * itself with its full list.
 */
export function rejectUnknownOptions(
  className: string,
  options: Readonly<Record<string, unknown>>,
  known: readonly string[],
): void {
  const o = options;
  const unknown = Object.keys(o).filter((k) => o[k] !== undefined && !known.includes(k));
  if (unknown.length === 0) return;
  throw new LycorisConfigError(
    "unknown_option",
    `Unknown option${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `\`${k}\``).join(", ")} for ${className} (PEFT raises TypeError: unexpected keyword argument); its options are ${known.join(", ")}.`,
    { field: unknown[0]!, expected: `an option of ${className}: ${known.join(", ")}`, received: unknown },
  );
}

/**
 * Adds a warning to `config.warnings` (package-internal; configs add their own with `warn`). `"first"`
 * puts it before the constructor's warnings, where PEFT would have printed it.
 */
export function addConfigWarning(
  config: LycorisConfig,
  message: string,
  at: "first" | "last" = "last",
): void {
  const list = config.warnings as string[];
  if (at === "first") list.unshift(message);
  else list.push(message);
}

function finiteNumber(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value)) invalid(field, "a finite number", value);
  return value;
}

function nullableString(field: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") invalid(field, "a string or null", value);
  return value;
}

/** A list as PEFT's set: duplicates dropped, first occurrence order kept, frozen. */
function stringSetOrString(field: string, value: unknown): string | readonly string[] | null {
  if (value === undefined || value === null) return null;
  if (typeof value === "string") return value;
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) {
    return Object.freeze([...new Set(value as string[])]);
  }
  return invalid(field, "a string, a list of strings, or null", value);
}

function patternRecord(field: string, value: unknown): Readonly<Record<string, number>> {
  if (value === undefined || value === null) return Object.freeze({});
  if (typeof value !== "object" || Array.isArray(value)) invalid(field, "an object of numbers", value);
  const entries = Object.entries(value as Record<string, unknown>);
  for (const [key, v] of entries) {
    if (typeof v !== "number" || !Number.isFinite(v)) invalid(`${field}.${key}`, "a finite number", v);
  }
  return Object.freeze(Object.fromEntries(entries) as Record<string, number>);
}

/** Python truthiness of the list-or-scalar fields PEFT tests with `if x`. */
function pythonTruthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  return true;
}

/**
 * The shared base of LyCORIS-style adapter configs (PEFT's `LycorisConfig` + `PeftConfig` fields), with
 * PEFT's defaults filled in. The constructor validates exactly where PEFT's `__post_init__` raises
 * (`task_type`, `layers_pattern` without `layers_to_transform`) and additionally rejects values of the
 * wrong type (`"invalid_value"`). Variant configs extend it:
 *
 * ```ts
 * class LoKrConfig extends LycorisConfig {
 *   readonly decomposeBoth: boolean;
 *   constructor(o: LoKrConfigOptions = {}) { super("LOKR", o); this.decomposeBoth = o.decomposeBoth ?? false; }
 * }
 * ```
 * Every own enumerable field of an instance (subclass fields included) is written to `adapter_config.json`.
 *
 * A variant config passes the names of its own options as the third argument; then an unknown option key is
 * rejected (`"unknown_option"`) as PEFT's dataclass constructor rejects an unexpected keyword argument.
 * Without the list, any key is accepted (subclasses written before the check existed keep working).
 * Values PEFT accepts without a word although they are unusual (a dropout outside [0, 1], a negative alpha)
 * are accepted and reported in {@link LycorisConfig.warnings}.
 */
export class LycorisConfig {
  /** `peft_type`, e.g. `"LOKR"`. */
  readonly peftType: string;
  readonly r: number;
  readonly alpha: number;
  readonly rankDropout: number;
  readonly moduleDropout: number;
  readonly initWeights: InitWeights;
  readonly targetModules: string | readonly string[] | null;
  readonly excludeModules: string | readonly string[] | null;
  readonly layersToTransform: number | readonly number[] | null;
  readonly layersPattern: string | readonly string[] | null;
  readonly rankPattern: Readonly<Record<string, number>>;
  readonly alphaPattern: Readonly<Record<string, number>>;
  readonly modulesToSave: readonly string[] | null;
  readonly inferenceMode: boolean;
  readonly taskType: PeftTaskType | null;
  readonly baseModelNameOrPath: string | null;
  readonly revision: string | null;
  readonly peftVersion: string | null;
  readonly autoMapping: Readonly<Record<string, unknown>> | null;
  /**
   * Warnings about values PEFT accepts or ignores silently (the documented list `PEFT_SILENT_WARNINGS`), and
   * PEFT's own warning about ignored unknown keys of a loaded file. A `PeftModel` reports them through its
   * `onWarning` when it creates an adapter from this config. Not written to `adapter_config.json`.
   */
  declare readonly warnings: readonly string[];

  /**
   * @param peftType - PEFT's `peft_type`, e.g. `"LOKR"`.
   * @param options - The shared options and the variant's own.
   * @param ownOptions - The names of the variant's own options (see the class description).
   */
  constructor(peftType: string, options: LycorisConfigOptions = {}, ownOptions?: readonly string[]) {
    Object.defineProperty(this, "warnings", { value: [], enumerable: false });
    if (typeof peftType !== "string" || peftType === "") invalid("peftType", "a non-empty string", peftType);
    if (typeof options !== "object" || options === null) invalid("options", "an object", options);
    const o = options as Record<string, unknown>;
    if (ownOptions !== undefined) {
      rejectUnknownOptions(new.target.name, o, [...Object.keys(SHARED_OPTIONS), ...ownOptions]);
    }
    this.peftType = peftType;
    this.r = finiteNumber("r", o.r, 8);
    this.alpha = finiteNumber("alpha", o.alpha, 8);
    this.rankDropout = finiteNumber("rankDropout", o.rankDropout, 0);
    this.moduleDropout = finiteNumber("moduleDropout", o.moduleDropout, 0);

    const initWeights = o.initWeights ?? true;
    if (typeof initWeights !== "boolean" && initWeights !== "lycoris") {
      invalid("initWeights", 'true, false or "lycoris"', initWeights);
    }
    this.initWeights = initWeights;

    this.targetModules = stringSetOrString("targetModules", o.targetModules);
    this.excludeModules = stringSetOrString("excludeModules", o.excludeModules);

    const layers = o.layersToTransform ?? null;
    if (layers === null) this.layersToTransform = null;
    else if (Number.isInteger(layers)) this.layersToTransform = layers as number;
    else if (Array.isArray(layers) && layers.every((v) => Number.isInteger(v))) {
      this.layersToTransform = Object.freeze([...(layers as number[])]);
    } else invalid("layersToTransform", "an integer, a list of integers, or null", layers);

    const layersPattern = o.layersPattern ?? null;
    if (layersPattern === null || typeof layersPattern === "string") this.layersPattern = layersPattern;
    else if (Array.isArray(layersPattern) && layersPattern.every((v) => typeof v === "string")) {
      this.layersPattern = Object.freeze([...(layersPattern as string[])]);
    } else invalid("layersPattern", "a string, a list of strings, or null", layersPattern);

    this.rankPattern = patternRecord("rankPattern", o.rankPattern);
    this.alphaPattern = patternRecord("alphaPattern", o.alphaPattern);

    const modulesToSave = o.modulesToSave ?? null;
    if (modulesToSave === null) this.modulesToSave = null;
    else if (Array.isArray(modulesToSave) && modulesToSave.every((v) => typeof v === "string")) {
      this.modulesToSave = Object.freeze([...(modulesToSave as string[])]);
    } else invalid("modulesToSave", "a list of strings or null", modulesToSave);

    const inferenceMode = o.inferenceMode ?? false;
    if (typeof inferenceMode !== "boolean") invalid("inferenceMode", "a boolean", inferenceMode);
    this.inferenceMode = inferenceMode;

    this.baseModelNameOrPath = nullableString("baseModelNameOrPath", o.baseModelNameOrPath);
    this.revision = nullableString("revision", o.revision);
    this.peftVersion = nullableString("peftVersion", o.peftVersion);
    const autoMapping = o.autoMapping ?? null;
    if (autoMapping !== null && (typeof autoMapping !== "object" || Array.isArray(autoMapping))) {
      invalid("autoMapping", "an object or null", autoMapping);
    }
    this.autoMapping = autoMapping === null ? null : Object.freeze({ ...(autoMapping as object) });

    // PeftConfig.__post_init__
    const taskType = o.taskType ?? null;
    if (taskType !== null && !isPeftTaskType(taskType)) {
      throw new LycorisConfigError(
        "invalid_task_type",
        `Invalid task type: '${String(taskType)}'. Must be one of the following task types: ${PEFT_TASK_TYPES.join(", ")}.`,
        { field: "taskType", expected: `null or one of ${PEFT_TASK_TYPES.join(", ")}`, received: taskType },
      );
    }
    this.taskType = taskType;

    // LoKrConfig / LoHaConfig.__post_init__ (Python truthiness: layers_to_transform=0 or [] also raises)
    if (pythonTruthy(this.layersPattern) && !pythonTruthy(this.layersToTransform)) {
      throw new LycorisConfigError(
        "layers_pattern_without_layers_to_transform",
        "When `layers_pattern` is specified, `layers_to_transform` must also be specified. ",
        {
          field: "layersToTransform",
          expected: "a non-empty layer index list, or a non-zero index",
          received: this.layersToTransform,
        },
      );
    }

    for (const [field, p] of [
      ["rank_dropout", this.rankDropout],
      ["module_dropout", this.moduleDropout],
    ] as const) {
      if (p < 0 || p > 1) this.warn(peftSilentWarningMessage("dropout_outside_unit_interval", field, p));
    }
    if (this.alpha < 0) this.warn(peftSilentWarningMessage("negative_alpha", "alpha", this.alpha));
    for (const [key, a] of Object.entries(this.alphaPattern)) {
      if (a < 0)
        this.warn(peftSilentWarningMessage("negative_alpha", `alpha_pattern[${pythonStrRepr(key)}]`, a));
    }
  }

  /** Records a warning in {@link LycorisConfig.warnings} (for variant configs' own checks). */
  protected warn(message: string): void {
    addConfigWarning(this, message);
  }
}
