import type { Tensor } from "@lycoris-ts/kernels";
import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { KohyaKeyMap, KohyaNameError } from "@lycoris-ts/runtime";
import { parseSafetensors } from "@lycoris-ts/safetensors";
import { LycorisFormatError } from "./lycoris-format-error";
import type { LycorisAdapter, LycorisAlgo, LycorisModule, LycorisStructure } from "./lycoris-module";
import { resolveLycorisPrefixes } from "./lycoris-prefixes";
import { shapeText } from "./shape-text";

/** Options of {@link readLycorisAdapter}. */
export interface ReadLycorisOptions {
  /** Every module name of the model (full dotted paths; containers may be included). */
  readonly moduleNames: Iterable<string>;
  /**
   * File prefix → sub-model root path (`{ lora_unet: "unet" }`, `""` = the whole model). Prefixes
   * not named here get the FORMAT defaults, or the root under which their keys name modules.
   */
  readonly prefixes?: Readonly<Record<string, string>>;
  /** Registry holding the `LOKR` and `LOHA` variants that rebuild ΔW. */
  readonly registry: AdapterRegistry;
}

const LOKR_PARAMS = ["lokr_w1", "lokr_w1_a", "lokr_w1_b", "lokr_w2", "lokr_w2_a", "lokr_w2_b", "lokr_t2"];
const LOHA_PARAMS = ["hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b", "hada_t1", "hada_t2"];
const KNOWN = new Set(["alpha", "dora_scale", ...LOKR_PARAMS, ...LOHA_PARAMS]);

interface Group {
  readonly fileKey: string;
  readonly tensors: Map<string, Tensor<Float32Array>>;
}

/** Whether tensor names look like a kohya / LyCORIS LoKr or LoHa file (`<key>.lokr_*` / `<key>.hada_*`). */
export function isLycorisKeyNaming(names: Iterable<string>): boolean {
  for (const n of names) {
    if (/^[^.]+\.(lokr|hada)_[a-z0-9_]+$/.test(n) && !n.startsWith("base_model.model.")) return true;
  }
  return false;
}

function groupKeys(tensors: ReadonlyMap<string, Tensor<Float32Array>>): Group[] {
  const groups = new Map<string, Group>();
  for (const [key, t] of tensors) {
    const dot = key.indexOf(".");
    const param = dot > 0 ? key.slice(dot + 1) : "";
    if (!KNOWN.has(param)) {
      throw new LycorisFormatError(
        "unknown_key",
        dot > 0 ? key.slice(0, dot) : key,
        `unknown tensor '${key}': expected <module key>.<${[...KNOWN].join("|")}> (LoKr / LoHa only)`,
      );
    }
    const fileKey = key.slice(0, dot);
    const g = groups.get(fileKey) ?? { fileKey, tensors: new Map() };
    g.tensors.set(param, t);
    groups.set(fileKey, g);
  }
  return [...groups.values()];
}

function need(g: Group, moduleName: string, name: string, why: string): Tensor<Float32Array> {
  const t = g.tensors.get(name);
  if (t === undefined) {
    throw new LycorisFormatError(
      "missing_tensor",
      moduleName,
      `module '${moduleName}' (${g.fileKey}): missing tensor '${name}' (${why})`,
    );
  }
  return t;
}

function expectDim(
  moduleName: string,
  what: string,
  a: Tensor<Float32Array>,
  ai: number,
  b: Tensor<Float32Array>,
  bi: number,
  names: readonly [string, string],
): void {
  if (a.shape[ai] !== b.shape[bi]) {
    throw new LycorisFormatError(
      "shape_mismatch",
      moduleName,
      `module '${moduleName}': ${what}: ${names[0]} ${shapeText(a.shape)} and ${names[1]} ${shapeText(b.shape)} do not fit (dim ${ai} vs dim ${bi})`,
    );
  }
}

function expectRank(
  moduleName: string,
  name: string,
  t: Tensor<Float32Array>,
  ranks: readonly number[],
): void {
  if (!ranks.includes(t.shape.length)) {
    throw new LycorisFormatError(
      "shape_mismatch",
      moduleName,
      `module '${moduleName}': ${name} has shape ${shapeText(t.shape)}, expected a ${ranks.join("- or ")}-D tensor`,
    );
  }
}

/** A 3-D Conv1d Tucker core `(r, r, k)` in PEFT's 4-D layout `(r, r, k, 1)`. */
function peftCore(t: Tensor<Float32Array>): Tensor<Float32Array> {
  return t.shape.length === 3 ? { data: t.data, shape: [...t.shape, 1] } : t;
}

function readLoKr(
  g: Group,
  m: string,
): { params: Record<string, Tensor<Float32Array>>; structure: LycorisStructure; rank: number | null } {
  const params: Record<string, Tensor<Float32Array>> = {};
  let rank: number | null = null;
  let w1: "full" | "lowrank";
  const full1 = g.tensors.get("lokr_w1");
  if (full1 !== undefined) {
    expectRank(m, "lokr_w1", full1, [2]);
    params.lokr_w1 = full1;
    w1 = "full";
  } else {
    const a = need(g, m, "lokr_w1_a", "no lokr_w1");
    const b = need(g, m, "lokr_w1_b", "lokr_w1_a needs it");
    expectRank(m, "lokr_w1_a", a, [2]);
    expectRank(m, "lokr_w1_b", b, [2]);
    expectDim(m, "W1 = lokr_w1_a @ lokr_w1_b", a, 1, b, 0, ["lokr_w1_a", "lokr_w1_b"]);
    params.lokr_w1_a = a;
    params.lokr_w1_b = b;
    rank = b.shape[0]!;
    w1 = "lowrank";
  }
  let w2: "full" | "lowrank" | "tucker";
  const full2 = g.tensors.get("lokr_w2");
  if (full2 !== undefined) {
    expectRank(m, "lokr_w2", full2, [2, 3, 4]);
    params.lokr_w2 = full2;
    w2 = "full";
  } else {
    const a = need(g, m, "lokr_w2_a", "no lokr_w2");
    const b = need(g, m, "lokr_w2_b", "lokr_w2_a needs it");
    expectRank(m, "lokr_w2_a", a, [2]);
    expectRank(m, "lokr_w2_b", b, [2]);
    const t2 = g.tensors.get("lokr_t2");
    if (t2 !== undefined) {
      expectRank(m, "lokr_t2", t2, [3, 4]);
      expectDim(m, "Tucker W2", t2, 0, a, 0, ["lokr_t2", "lokr_w2_a"]);
      expectDim(m, "Tucker W2", t2, 1, b, 0, ["lokr_t2", "lokr_w2_b"]);
      params.lokr_t2 = peftCore(t2);
      w2 = "tucker";
    } else {
      expectDim(m, "W2 = lokr_w2_a @ lokr_w2_b", a, 1, b, 0, ["lokr_w2_a", "lokr_w2_b"]);
      w2 = "lowrank";
    }
    params.lokr_w2_a = a;
    params.lokr_w2_b = b;
    rank = b.shape[0]!;
  }
  return { params, structure: { algo: "LOKR", w1, w2 }, rank };
}

function readLoHa(
  g: Group,
  m: string,
): { params: Record<string, Tensor<Float32Array>>; structure: LycorisStructure; rank: number } {
  const params: Record<string, Tensor<Float32Array>> = {};
  const t1 = g.tensors.get("hada_t1");
  const t2 = g.tensors.get("hada_t2");
  const tucker = t1 !== undefined || t2 !== undefined;
  for (const i of [1, 2] as const) {
    const a = need(g, m, `hada_w${i}_a`, "LoHa needs four factors");
    const b = need(g, m, `hada_w${i}_b`, "LoHa needs four factors");
    expectRank(m, `hada_w${i}_a`, a, [2]);
    expectRank(m, `hada_w${i}_b`, b, [2]);
    if (tucker) {
      const t = need(g, m, `hada_t${i}`, "Tucker LoHa needs both cores");
      expectRank(m, `hada_t${i}`, t, [3, 4]);
      expectDim(m, `Tucker factor ${i}`, t, 0, a, 0, [`hada_t${i}`, `hada_w${i}_a`]);
      expectDim(m, `Tucker factor ${i}`, t, 1, b, 0, [`hada_t${i}`, `hada_w${i}_b`]);
      params[`hada_t${i}`] = peftCore(t);
    } else {
      expectDim(m, `factor ${i}`, a, 1, b, 0, [`hada_w${i}_a`, `hada_w${i}_b`]);
    }
    params[`hada_w${i}_a`] = a;
    params[`hada_w${i}_b`] = b;
  }
  const outAxis = tucker ? 1 : 0;
  expectDim(m, "both Hadamard factors", params.hada_w1_a!, outAxis, params.hada_w2_a!, outAxis, [
    "hada_w1_a",
    "hada_w2_a",
  ]);
  expectDim(m, "both Hadamard factors", params.hada_w1_b!, 1, params.hada_w2_b!, 1, [
    "hada_w1_b",
    "hada_w2_b",
  ]);
  return { params, structure: { algo: "LOHA", tucker }, rank: params.hada_w1_b!.shape[0]! };
}

function algoOf(g: Group, moduleName: string): LycorisAlgo {
  const names = [...g.tensors.keys()];
  const lokr = names.some((n) => n.startsWith("lokr_"));
  const loha = names.some((n) => n.startsWith("hada_"));
  if (lokr && loha) {
    throw new LycorisFormatError(
      "invalid_module",
      moduleName,
      `module '${moduleName}' (${g.fileKey}) has both lokr_* and hada_* tensors`,
    );
  }
  if (!lokr && !loha) {
    throw new LycorisFormatError(
      "missing_tensor",
      moduleName,
      `module '${moduleName}' (${g.fileKey}) has no lokr_* or hada_* factors (only ${names.join(", ")})`,
    );
  }
  return lokr ? "LOKR" : "LOHA";
}

function toTensors(source: Uint8Array | ReadonlyMap<string, Tensor<Float32Array>>): {
  tensors: ReadonlyMap<string, Tensor<Float32Array>>;
  metadata: Record<string, string> | null;
} {
  if (source instanceof Uint8Array) {
    const c = parseSafetensors(source);
    return { tensors: c.tensors, metadata: c.metadata };
  }
  return { tensors: source, metadata: null };
}

/**
 * Reads a kohya / LyCORIS-format LoKr / LoHa file (bytes of a safetensors file, or its decoded
 * tensors) against a model's module names, with the kohya loaders' (ComfyUI's) rules: the
 * algorithm per module from the tensor names, LoKr rank from `lokr_w1_b` then `lokr_w2_b` (none
 * when both factors are full: scale 1, alpha ignored), LoHa rank `hada_w1_b.shape[0]`, scale
 * `alpha / rank` (1 without alpha). Factors keep their names, which are PEFT's; 3-D Conv1d Tucker
 * cores get PEFT's trailing unit axis.
 *
 * @throws LycorisFormatError for unknown tensor names, keys that name no (or several) modules,
 *   missing tensors and factors whose shapes do not fit each other.
 * @throws AdapterError (`unknown_peft_type`) when the registry lacks `LOKR` / `LOHA`.
 */
export function readLycorisAdapter(
  source: Uint8Array | ReadonlyMap<string, Tensor<Float32Array>>,
  options: ReadLycorisOptions,
): LycorisAdapter {
  const { tensors, metadata } = toTensors(source);
  const groups = groupKeys(tensors);
  if (groups.length === 0) {
    throw new LycorisFormatError("invalid_module", "", "the file holds no LoKr / LoHa tensors");
  }
  const moduleNames = [...options.moduleNames];
  const prefixes = resolveLycorisPrefixes(
    groups.map((g) => g.fileKey),
    moduleNames,
    options.prefixes,
  );
  const keyMap = new KohyaKeyMap(moduleNames, prefixes);
  const modules: LycorisModule[] = [];
  const seen = new Map<string, string>();
  for (const g of groups) {
    let match: ReturnType<KohyaKeyMap["fromKohya"]>;
    try {
      match = keyMap.fromKohya(`${g.fileKey}.x`);
    } catch (error) {
      if (error instanceof KohyaNameError) {
        throw new LycorisFormatError("ambiguous_key", g.fileKey, error.message);
      }
      throw error;
    }
    if (match === null) {
      const roots = Object.entries(prefixes).map(([p, r]) => `${p} → ${r === "" ? "(model root)" : r}`);
      throw new LycorisFormatError(
        "unmatched_key",
        g.fileKey,
        `key '${g.fileKey}' names no module of the model (prefixes: ${roots.length > 0 ? roots.join(", ") : "none recognised"})`,
      );
    }
    const moduleName = match.moduleName;
    const previous = seen.get(moduleName);
    if (previous !== undefined) {
      throw new LycorisFormatError(
        "ambiguous_key",
        moduleName,
        `keys '${previous}' and '${g.fileKey}' both name module '${moduleName}'`,
      );
    }
    seen.set(moduleName, g.fileKey);
    const algo = algoOf(g, moduleName);
    const read = algo === "LOKR" ? readLoKr(g, moduleName) : readLoHa(g, moduleName);
    const alphaT = g.tensors.get("alpha");
    if (alphaT !== undefined && alphaT.data.length !== 1) {
      throw new LycorisFormatError(
        "shape_mismatch",
        moduleName,
        `module '${moduleName}': alpha has shape ${shapeText(alphaT.shape)}, expected a single value`,
      );
    }
    const alpha = alphaT === undefined ? null : alphaT.data[0]!;
    const scale = read.rank === null || alpha === null ? 1 : alpha / read.rank;
    modules.push({
      moduleName,
      fileKey: g.fileKey,
      prefix: match.prefix,
      algo,
      structure: read.structure,
      variant: options.registry.get(algo),
      params: read.params,
      rank: read.rank,
      alpha,
      scale,
      doraScale: g.tensors.get("dora_scale") ?? null,
    });
  }
  return { modules, prefixes, metadata };
}
