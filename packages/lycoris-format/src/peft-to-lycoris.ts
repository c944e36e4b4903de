import type { Tensor } from "@lycoris-ts/kernels";
import { type LycorisConfig, parseAdapterConfigJson, resolveRankAndAlpha } from "@lycoris-ts/lycoris-config";
import { type AdapterRegistry, PEFT_KEY_PREFIX, splitPeftKey } from "@lycoris-ts/runtime";
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
  /** Registry holding the adapter's variant (`LOKR` / `LOHA`); builds the config PEFT would use. */
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
   * `true` when PEFT's scaling was multiplied into `lokr_w1` (LoKr with both factors full: the
   * loaders use scale 1 and ignore alpha); `false` when `storedAlpha = scaling · rank` carries it.
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

const ALGO_BY_TYPE: Readonly<Record<string, { algo: LycorisAlgo; prefix: string; name: string }>> = {
  LOKR: { algo: "LOKR", prefix: "lokr_", name: "lokr" },
  LOHA: { algo: "LOHA", prefix: "hada_", name: "loha" },
};

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

/** The kohya loaders' rank of a module's factors (null: LoKr with both factors full). */
function loaderRank(algo: LycorisAlgo, p: Readonly<Record<string, Tensor<Float32Array>>>): number | null {
  if (algo === "LOHA") return p.hada_w1_b?.shape[0] ?? null;
  const w2b = p.lokr_w2_b;
  if (w2b !== undefined) return w2b.shape[0]!;
  return p.lokr_w1_b?.shape[0] ?? null;
}

function groupWeights(
  weights: ReadonlyMap<string, Tensor<Float32Array>>,
  paramPrefix: string,
): {
  modules: Map<string, Record<string, Tensor<Float32Array>>>;
  dropped: string[];
  foreign: string[];
} {
  const modules = new Map<string, Record<string, Tensor<Float32Array>>>();
  const dropped: string[] = [];
  const foreign: string[] = [];
  for (const [key, t] of weights) {
    const { module, param } = splitPeftKey(key);
    if (key.startsWith(PEFT_KEY_PREFIX) && param === "base_layer.weight") {
      dropped.push(key);
      continue;
    }
    if (!key.startsWith(PEFT_KEY_PREFIX) || module === "" || !param.startsWith(paramPrefix)) {
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
 * Writes a PEFT LoKr / LoHa adapter as a kohya / LyCORIS-format file (tensors + metadata) whose
 * ΔW under the kohya loaders' rules (ComfyUI: rank from `lokr_w2_b` / `lokr_w1_b` / `hada_w1_b`,
 * scale `alpha / rank`) equals PEFT's `scaling · raw` with `scaling = alpha / r` as PEFT resolves
 * them (`rank_pattern` / `alpha_pattern` included):
 *
 * - where the loaders derive a rank from a decomposed factor, the stored `alpha` is
 *   `scaling · rank` and the factors are copied unchanged;
 * - LoKr with both factors full (loaders: scale 1, alpha ignored): `lokr_w1` is multiplied by
 *   `scaling` and `alpha = r` is stored (`scaleBaked: true`);
 * - PEFT's Conv1d Tucker cores `(r, r, k, 1)` are written `(r, r, k)` as LyCORIS does.
 *
 * Keys are `<prefix>_<module path below moduleRoot, "." → "_">.<tensor>`. Saved copies of an
 * adapted layer's unchanged base weight are left out (listed in `dropped`).
 *
 * @throws LycorisFormatError `not_convertible` naming the keys when the adapter holds what a
 *   LyCORIS file cannot express (modules_to_save copies or other non-factor tensors), for
 *   peft types other than LOKR / LOHA, modules outside `moduleRoot`, or an ambiguous Conv1d core;
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
  const kind = ALGO_BY_TYPE[parsed.peftType];
  if (kind === undefined) {
    throw new LycorisFormatError(
      "not_convertible",
      "",
      `peft_type ${parsed.peftType}: only LOKR and LOHA adapters have a kohya / LyCORIS form`,
    );
  }
  const config: LycorisConfig = options.registry.get(parsed.peftType).createConfig(parsed.options);
  const { modules: groups, dropped, foreign } = groupWeights(input.weights, kind.prefix);
  if (foreign.length > 0) {
    throw new LycorisFormatError(
      "not_convertible",
      splitPeftKey(foreign[0]!).module,
      `a kohya / LyCORIS file holds only ${kind.name} factors; cannot express ${foreign.length} tensor${foreign.length === 1 ? "" : "s"} (modules_to_save copies or other weights): ${foreign.join(", ")}`,
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
    const scaling = alpha / r;
    const rank = loaderRank(kind.algo, params);
    const scaleBaked = rank === null;
    const shape = options.weightShape?.(module);
    for (const [name, t] of Object.entries(params)) {
      let out = t;
      if (name === "lokr_t2" || name === "hada_t1" || name === "hada_t2")
        out = lycorisCore(module, name, t, shape);
      if (scaleBaked && name === "lokr_w1") out = scaled(t, scaling);
      tensors.set(`${fileKey}.${name}`, out);
    }
    const storedAlpha = rank === null ? r : scaling * rank;
    tensors.set(`${fileKey}.alpha`, { data: Float32Array.of(storedAlpha), shape: [] });
    modules.push({ module, fileKey, algo: kind.algo, r, alpha, storedAlpha, scaleBaked });
  }

  const metadata: Record<string, string> = {
    ss_network_module: "lycoris.kohya",
    ss_network_dim: String(mostCommon(modules.map((m) => m.r))),
    ss_network_alpha: pythonFloat(mostCommon(modules.map((m) => m.alpha))),
    ss_network_args: JSON.stringify({ algo: kind.name }),
  };
  return { tensors, metadata, modules, dropped };
}
