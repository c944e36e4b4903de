import { LycorisConfigError } from "./errors";
import type { LycorisConfig } from "./lycoris-config";
import { PythonFloat, pythonJsonDumps } from "./python-json";
import { camelToSnake, snakeToCamel } from "./snake-case";

/** Fields PEFT declares as floats (written `0.0`, not `0`). */
const FLOAT_FIELDS = new Set(["rank_dropout", "module_dropout", "lora_dropout"]);

/** Options of {@link adapterConfigToJson}. */
export interface AdapterConfigToJsonOptions {
  /**
   * `target_modules` as resolved on a model ({@link TargetSelection.resolvedTargetModules}); PEFT stores
   * `"all-linear"` and model-type defaults in this resolved form.
   */
  readonly resolvedTargetModules?: string | readonly string[] | null;
}

/**
 * Writes `config` as PEFT writes `adapter_config.json`: every own field of the config (subclass fields
 * included) with snake_case keys, keys sorted, 2-space indentation, `inference_mode` true, sets as lists,
 * floats in Python notation, no trailing newline. Keys of `rank_pattern` / `alpha_pattern` / `auto_mapping`
 * are written verbatim.
 */
export function adapterConfigToJson(config: LycorisConfig, opts: AdapterConfigToJsonOptions = {}): string {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (typeof value === "function" || value === undefined) continue;
    const snake = camelToSnake(key);
    out[snake] = FLOAT_FIELDS.has(snake) && typeof value === "number" ? new PythonFloat(value) : value;
  }
  out.inference_mode = true;
  if (opts.resolvedTargetModules !== undefined) out.target_modules = opts.resolvedTargetModules;
  return pythonJsonDumps(out);
}

/** The contents of an `adapter_config.json`, with camelCase keys. */
export interface ParsedAdapterConfig {
  /** `peft_type`, e.g. `"LOKR"`. */
  readonly peftType: string;
  /**
   * Every other top-level field with a camelCase key (variant fields included), ready for a config
   * constructor; nested keys (`rank_pattern`, `alpha_pattern`, `auto_mapping`) are left as written.
   */
  readonly options: Record<string, unknown>;
}

/**
 * Reads an `adapter_config.json` (text or already-parsed object) as PEFT writes it. Throws a
 * {@link LycorisConfigError} of kind `"invalid_adapter_config"` when it is not a JSON object with a string
 * `peft_type`. Field values are checked by the config constructor.
 */
export function parseAdapterConfigJson(text: string | Record<string, unknown>): ParsedAdapterConfig {
  let json: unknown = text;
  if (typeof text === "string") {
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new LycorisConfigError(
        "invalid_adapter_config",
        `adapter_config.json is not valid JSON: ${(error as Error).message}`,
        { field: "adapter_config.json", expected: "a JSON object", received: text },
      );
    }
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new LycorisConfigError("invalid_adapter_config", "adapter_config.json must hold a JSON object.", {
      field: "adapter_config.json",
      expected: "a JSON object",
      received: json,
    });
  }
  const record = json as Record<string, unknown>;
  const peftType = record.peft_type;
  if (typeof peftType !== "string" || peftType === "") {
    throw new LycorisConfigError("invalid_adapter_config", "adapter_config.json has no `peft_type` string.", {
      field: "peft_type",
      expected: 'a PEFT type such as "LOKR" or "LOHA"',
      received: peftType,
    });
  }
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (key === "peft_type") continue;
    options[snakeToCamel(key)] = value;
  }
  return { peftType, options };
}

/** `adapter_config.json` fields that are bookkeeping, not behaviour (PEFT's fixtures' FORMAT.md). */
const BOOKKEEPING_FIELDS = ["peft_version", "auto_mapping", "base_model_name_or_path", "revision"];
/** Fields PEFT holds as sets: their stored order is unspecified. */
const SET_FIELDS = ["target_modules", "exclude_modules"];

/**
 * The part of a parsed `adapter_config.json` that decides behaviour, for comparing two files (ours and
 * PEFT's): bookkeeping fields (`peft_version`, `auto_mapping`, `base_model_name_or_path`, `revision`) left
 * out, set-valued fields (`target_modules`, `exclude_modules` as lists) sorted, keys sorted.
 */
export function adapterConfigBehaviour(json: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(json).sort()) {
    if (BOOKKEEPING_FIELDS.includes(key)) continue;
    const value = json[key];
    out[key] = SET_FIELDS.includes(key) && Array.isArray(value) ? [...value].sort() : value;
  }
  return out;
}
