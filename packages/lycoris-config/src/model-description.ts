import { describeValue } from "@lycoris-ts/errors";
import { LycorisConfigError } from "./errors";
import { snakeToCamel } from "./snake-case";

/**
 * The kind of a module, as in the fixtures' `model.json`. Only `linear`, `conv1d` and `conv2d` can carry a
 * LoKr/LoHa adapter; `gpt2_conv1d` counts as linear for `"all-linear"`.
 */
export type ModuleKind =
  | "container"
  | "module_list"
  | "linear"
  | "conv1d"
  | "conv2d"
  | "conv3d"
  | "embedding"
  | "layernorm"
  | "gpt2_conv1d"
  | "relu"
  | (string & {});

/**
 * One named sub-module of a model. Hyper-parameters use camelCase keys: `inFeatures`, `outFeatures`, `bias`
 * (linear); `inChannels`, `outChannels`, `kernelSize`, `stride`, `padding`, `dilation`, `groups`, `bias`,
 * `paddingMode` (conv); `nx`, `nf` (gpt2_conv1d); `numEmbeddings`, `embeddingDim` (embedding);
 * `normalizedShape`, `eps`, `elementwiseAffine` (layernorm); `length` (module_list).
 */
export interface ModuleDescription {
  /** Dotted path, e.g. `model.layers.0.self_attn.q_proj`. */
  readonly name: string;
  readonly kind: ModuleKind;
  readonly [hyper: string]: unknown;
}

/** A model as far as module selection needs it: every named sub-module in registration (depth-first) order. */
export interface ModelDescription {
  /** Every named sub-module, containers included, root excluded, in registration order. */
  readonly modules: readonly ModuleDescription[];
  /** The output projection (e.g. `lm_head`), skipped by `"all-linear"`; null when the model declares none. */
  readonly outputLayer?: string | null;
  /** Transformers `model_type` (e.g. `llama`), used for default targets when `targetModules` is null. */
  readonly modelType?: string | null;
  /** The token-embedding table, if any. */
  readonly inputEmbeddings?: string | null;
}

function bad(field: string, expected: string, received: unknown): never {
  throw new LycorisConfigError(
    "invalid_value",
    `Invalid model description: \`${field}\` must be ${expected}, got ${describeValue(received)}.`,
    {
      field,
      expected,
      received,
    },
  );
}

function optionalName(json: Record<string, unknown>, key: string): string | null {
  const value = json[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") bad(key, "a string or null", value);
  return value;
}

/**
 * Reads a model description in the fixtures' `model.json` form (snake_case keys: `output_layer`,
 * `model_type`, `input_embeddings`, and per module `in_features`, `kernel_size`, ...). Module
 * hyper-parameters are kept with camelCase keys; `parameters` / `num_parameters` are ignored.
 */
export function parseModelDescription(json: unknown): ModelDescription {
  if (typeof json !== "object" || json === null || Array.isArray(json)) bad("model", "an object", json);
  const record = json as Record<string, unknown>;
  const modules = record.modules;
  if (!Array.isArray(modules)) bad("modules", "a list", modules);
  const parsed = modules.map((entry: unknown, index: number): ModuleDescription => {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      bad(`modules[${index}]`, "an object", entry);
    }
    const m = entry as Record<string, unknown>;
    if (typeof m.name !== "string") bad(`modules[${index}].name`, "a string", m.name);
    if (typeof m.kind !== "string") bad(`modules[${index}].kind`, "a string", m.kind);
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(m)) out[snakeToCamel(key)] = value;
    return Object.freeze(out) as ModuleDescription;
  });
  return Object.freeze({
    modules: Object.freeze(parsed),
    outputLayer: optionalName(record, "output_layer"),
    modelType: optionalName(record, "model_type"),
    inputEmbeddings: optionalName(record, "input_embeddings"),
  });
}
