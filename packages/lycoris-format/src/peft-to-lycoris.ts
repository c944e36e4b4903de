import type { Tensor } from "@lycoris-ts/kernels";
import { type LycorisConfig, parseAdapterConfigJson, resolveRankAndAlpha } from "@lycoris-ts/lycoris-config";
import {
  type AdapterRegistry,
  type AdapterVariant,
  type KohyaFormat,
  PEFT_KEY_PREFIX,
  splitPeftKey,
} from "@lycoris-ts/runtime";
import { kohyaTypeList, kohyaVariants, peftToKohyaName } from "./kohya-variants";
import { LycorisFormatError } from "./lycoris-format-error";
import type { LycorisAlgo } from "./lycoris-module";
import { shapeText } from "./shape-text";

/** A PEFT adapter as `readPeftAdapterDir` returns it (one entry): parsed config + saved weights. */
export interface PeftAdapterInput {
  /** Parsed `adapter_config.json` (snake_case keys as in the file). */
  readonly config: Readonly<Record<string, unknown>>;
  /** `adapter_model.safetensors` tensors: `base_model.model.<module>.<param>`, float32 row-major. */
  readonly weights: ReadonlyMap<string, Tensor<Float32Array>>;
}

/** Options of {@link peftToLycoris}. */
export interface PeftToLycorisOptions {
  /** Registry holding the adapter's variant (with a `kohya` hook); builds the config PEFT would use. */
  readonly registry: AdapterRegistry;
  /** File prefix of every key (`lycoris`, `lora_unet`, `lora_te`, ...); default `"lycoris"`. */
  readonly prefix?: string;
  /**
   * Path removed from every module name before the key is built (`"unet"`: `unet.a.b` →
   * `<prefix>_a_b`); every adapted module must lie below it. Default: none (the whole model).
   */
  readonly moduleRoot?: string;
  /**
   * The base weight shape of a module, when known. Needed only to tell a Conv1d Tucker core
   * (PEFT `(r, r, k, 1)`, written `(r, r, k)`) from a Conv2d one with a `(k, 1)` kernel; without it
   * such a core is refused as ambiguous.
   */
  readonly weightShape?: (moduleName: string) => readonly number[] | undefined;
}

/** How one module was written. */
export interface PeftToLycorisModule {
  /** The module path (PEFT's name). */
  readonly module: string;
  /** The file's module key (`<prefix>_<path with . → _>`). */
  readonly fileKey: string;
  readonly algo: LycorisAlgo;
  /** PEFT's r and alpha for this module (`scaling = alpha / r`). */
  readonly r: number;
  readonly alpha: number;
  /** The stored `alpha` tensor's value. */
  readonly storedAlpha: number;
  /**
   * `true` when PEFT's scaling was multiplied into the variant's `kohya.scaleParameter` (a module
   * without a rank, every factor full: the loaders use scale 1 and ignore alpha); `false` when
   * `storedAlpha = scaling · rank` carries it.
   */
  readonly scaleBaked: boolean;
}

/** A PEFT adapter as kohya / LyCORIS-format tensors and metadata, ready for `serializeSafetensors`. */
export interface PeftToLycorisResult {
  /** `<prefix>_<module>.<tensor>` (factors, and a 0-d `alpha` per module), float32. */
  readonly tensors: Map<string, Tensor<Float32Array>>;
  /** `__metadata__`: `ss_network_module`, `ss_network_dim`, `ss_network_alpha`, `ss_network_args`. */
  readonly metadata: Record<string, string>;
  /** Written modules, in the order of the PEFT weights. */
  readonly modules: readonly PeftToLycorisModule[];
  /**
   * PEFT keys left out because they carry no change: copies of an adapted layer's unchanged base
   * weight (`<module>.base_layer.weight`, saved for an adapted output layer).
   */
  readonly dropped: readonly string[];
}

const PREFIX_RE = /^[A-Za-z0-9]+(_[A-Za-z0-9]+)*$/;

function scaled(t: Tensor<Float32Array>, s: number): Tensor<Float32Array> {
  const data = new Float32Array(t.data.length);
  for (let i = 0; i < data.length; i++) data[i] = t.data[i]! * s;
  return { data, shape: [...t.shape] };
}

/** The Tucker core as LyCORIS stores it: PEFT's Conv1d `(r, r, k, 1)` becomes `(r, r, k)`. */
function lycorisCore(
  module: string,
  name: string,
  t: Tensor<Float32Array>,
  weightShape: readonly number[] | undefined,
): Tensor<Float32Array> {
  if (t.shape.length !== 4 || t.shape[3] !== 1) return t;
  if (weightShape === undefined) {
    if (t.shape[2] === 1) return t; // a 1×1 core: the same numbers either way
    throw new LycorisFormatError(
      "not_convertible",
      module,
      `module '${module}': ${name} ${shapeText(t.shape)} is a Conv1d core or a Conv2d core with a (k, 1) kernel; the base weight shape is needed to tell`,
    );
  }
  return weightShape.length === 3 ? { data: t.data, shape: t.shape.slice(0, 3) } : t;
}

function pythonFloat(v: number): string {
  return Number.isInteger(v) ? `${v}.0` : String(v);
}

function mostCommon(values: readonly number[]): number {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best = values[0]!;
  for (const [v, n] of counts) if (n > counts.get(best)!) best = v;
  return best;
}

/** PEFT's scaling of a module: the variant's (rsLoRA: `alpha / √r`) for the layer its factors fit, else `alpha / r`. */
function moduleScaling(
  variant: AdapterVariant<LycorisConfig>,
  ra: { config: LycorisConfig; r: number; alpha: number },
  params: Readonly<Record<string, Tensor<Float32Array>>>,
): number {
  const shapes = new Map(Object.entries(params).map(([n, t]) => [n, t.shape] as const));
  const layer = variant.layerCandidates?.(shapes)[0];
  return layer !== undefined && variant.scaling !== undefined
    ? variant.scaling({ ...ra, layer })
    : ra.alpha / ra.r;
}

/** The kohya loaders' rank of a module's factors (the variant's `describeParameters`; null: every factor full). */
function loaderRank(
  variant: AdapterVariant<LycorisConfig>,
  module: string,
  params: Readonly<Record<string, Tensor<Float32Array>>>,
): number | null {
  const d = variant.describeParameters?.(
    new Map(Object.entries(params).map(([n, t]) => [n, t.shape] as const)),
  );
  if (d === undefined || d.ok) return d?.rank ?? null;
  throw new LycorisFormatError("invalid_module", module, `module '${module}': ${d.message}`);
}

/** A module's tensors under kohya names: Conv1d Tucker cores 3-D, the scale baked in where there is no rank. */
export function kohyaTensors(
  module: string,
  kohya: KohyaFormat,
  params: Readonly<Record<string, Tensor<Float32Array>>>,
  bake: number | null,
  weightShape: readonly number[] | undefined,
): Array<[string, Tensor<Float32Array>]> {
  return Object.entries(params).map(([name, t]) => {
    let out = t;
    if (kohya.tuckerCores?.includes(name) === true) out = lycorisCore(module, name, t, weightShape);
    if (bake !== null && name === kohya.scaleParameter) out = scaled(t, bake);
    return [peftToKohyaName(kohya, name), out];
  });
}

function groupWeights(
  weights: ReadonlyMap<string, Tensor<Float32Array>>,
  variant: AdapterVariant<LycorisConfig>,
): {
  modules: Map<string, Record<string, Tensor<Float32Array>>>;
  dropped: string[];
  foreign: string[];
} {
  const modules = new Map<string, Record<string, Tensor<Float32Array>>>();
  const dropped: string[] = [];
  const foreign: string[] = [];
  for (const [key, t] of weights) {
    // parameter names with a dot (LoRA's `lora_A.weight`) end a key as a whole
    const { module, param } = splitPeftKey(key, variant.parameterNames);
    if (key.startsWith(PEFT_KEY_PREFIX) && param === "base_layer.weight") {
      dropped.push(key);
      continue;
    }
    if (!key.startsWith(PEFT_KEY_PREFIX) || module === "" || !param.startsWith(variant.prefix)) {
      foreign.push(key);
      continue;
    }
    const group = modules.get(module) ?? {};
    group[param] = t;
    modules.set(module, group);
  }
  return { modules, dropped, foreign };
}

/**
 * Writes a PEFT adapter (of a variant with a `kohya` hook: LoKr, LoHa) as a kohya / LyCORIS-format
 * file (tensors + metadata) whose ΔW under the kohya loaders' rules (ComfyUI: the rank the
 * variant's `describeParameters` reads, scale `alpha / rank`) equals PEFT's `scaling · raw` with
 * `scaling` as PEFT resolves it (`alpha / r`; the variant's own, e.g. rsLoRA's `alpha / √r`) (`rank_pattern` / `alpha_pattern` included):
 *
 * - where the loaders derive a rank from a decomposed factor, the stored `alpha` is
 *   `scaling · rank` and the factors are copied unchanged;
 * - modules without a rank (every factor full; loaders: scale 1, alpha ignored): the variant's
 *   `kohya.scaleParameter` is multiplied by `scaling` and `alpha = r` is stored (`scaleBaked: true`);
 * - PEFT's Conv1d Tucker cores `(r, r, k, 1)` are written `(r, r, k)` as LyCORIS does.
 *
 * Keys are `<prefix>_<module path below moduleRoot, "." → "_">.<tensor>`. Saved copies of an
 * adapted layer's unchanged base weight are left out (listed in `dropped`).
 *
 * @throws LycorisFormatError `not_convertible` naming the keys when the adapter holds what a
 *   LyCORIS file cannot express (modules_to_save copies or other non-factor tensors), for
 *   variants without a `kohya` hook, modules outside `moduleRoot`, or an ambiguous Conv1d core;
 *   `ambiguous_key` when two modules get the same key; `invalid_module` for an empty adapter.
 * @throws LycorisConfigError for an invalid config; AdapterError when the registry lacks the type.
 */
export function peftToLycoris(input: PeftAdapterInput, options: PeftToLycorisOptions): PeftToLycorisResult {
  const prefix = options.prefix ?? "lycoris";
  if (!PREFIX_RE.test(prefix)) {
    throw new LycorisFormatError(
      "not_convertible",
      "",
      `prefix '${prefix}' is not a kohya prefix (letters and digits, parts joined by '_')`,
    );
  }
  const parsed = parseAdapterConfigJson({ ...input.config });
  const variants = kohyaVariants(options.registry);
  const kv = variants.find((v) => v.variant.peftType.toUpperCase() === parsed.peftType.toUpperCase());
  if (kv === undefined) {
    throw new LycorisFormatError(
      "not_convertible",
      "",
      `peft_type ${parsed.peftType}: only ${kohyaTypeList(variants)} adapters have a kohya / LyCORIS form`,
    );
  }
  const { variant, kohya } = kv;
  const config: LycorisConfig = variant.createConfig(parsed.options);
  const { modules: groups, dropped, foreign } = groupWeights(input.weights, variant);
  if (foreign.length > 0) {
    throw new LycorisFormatError(
      "not_convertible",
      splitPeftKey(foreign[0]!).module,
      `a kohya / LyCORIS file holds only ${kohya.algo} factors; cannot express ${foreign.length} tensor${foreign.length === 1 ? "" : "s"} (modules_to_save copies or other weights): ${foreign.join(", ")}`,
    );
  }
  if (groups.size === 0) throw new LycorisFormatError("invalid_module", "", "the adapter holds no factors");

  const root = options.moduleRoot ?? "";
  const tensors = new Map<string, Tensor<Float32Array>>();
  const modules: PeftToLycorisModule[] = [];
  const keyOwner = new Map<string, string>();
  for (const [module, params] of groups) {
    let rel = module;
    if (root !== "") {
      if (!module.startsWith(`${root}.`)) {
        throw new LycorisFormatError(
          "not_convertible",
          module,
          `module '${module}' is not below the module root '${root}'`,
        );
      }
      rel = module.slice(root.length + 1);
    }
    const fileKey = `${prefix}_${rel.replace(/\./g, "_")}`;
    const other = keyOwner.get(fileKey);
    if (other !== undefined) {
      throw new LycorisFormatError(
        "ambiguous_key",
        module,
        `modules '${other}' and '${module}' both become key '${fileKey}'`,
      );
    }
    keyOwner.set(fileKey, module);

    const { r, alpha } = resolveRankAndAlpha(config, module);
    const scaling = moduleScaling(variant, { config, r, alpha }, params);
    const rank = loaderRank(variant, module, params);
    const scaleBaked = rank === null;
    const shape = options.weightShape?.(module);
    for (const [name, t] of kohyaTensors(module, kohya, params, scaleBaked ? scaling : null, shape)) {
      tensors.set(`${fileKey}.${name}`, t);
    }
    const storedAlpha = rank === null ? r : scaling * rank;
    tensors.set(`${fileKey}.alpha`, { data: Float32Array.of(storedAlpha), shape: [] });
    modules.push({ module, fileKey, algo: variant.peftType, r, alpha, storedAlpha, scaleBaked });
  }

  const metadata: Record<string, string> = {
    ss_network_module: "lycoris.kohya",
    ss_network_dim: String(mostCommon(modules.map((m) => m.r))),
    ss_network_alpha: pythonFloat(mostCommon(modules.map((m) => m.alpha))),
    ss_network_args: JSON.stringify({ algo: kohya.algo }),
  };
  return { tensors, metadata, modules, dropped };
}
