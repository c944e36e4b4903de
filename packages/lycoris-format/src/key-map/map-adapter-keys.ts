import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { kohyaVariants } from "../kohya-variants";
import { LycorisFormatError } from "../lycoris-format-error";
import {
  type AdapterTensorSuffixes,
  adapterTensorSuffixes,
  readModuleTensors,
  splitTensorName,
} from "./adapter-tensor-suffix";
import { type BaseCheckpoint, type BaseTensorShapes, readBaseCheckpoint } from "./base-checkpoint";
import { closestNames } from "./closest-names";
import type {
  AdapterKeyMap,
  AdapterLayout,
  BaseComponent,
  ClosestBaseName,
  KeyMapEntry,
  KeyMapTarget,
  RowSlice,
} from "./key-map-types";
import { buildLoraKeyTable, type ComfyTarget, keyLayout } from "./lora-key-table";

/** Options of {@link mapAdapterKeys}. */
export interface MapAdapterKeysOptions {
  /**
   * Registry holding the variants (with a `kohya` hook) whose tensors the file may hold: their kohya
   * tensor names are module-key suffixes, read when any is present, with the variant's `algo` as kind.
   */
  readonly registry: AdapterRegistry;
  /** How many closest base names to report for a key that is not placed (default 3; 0: none). */
  readonly closest?: number;
}

const PEFT_PREFIX = "base_model.model.";

/** Adapter tensor names grouped by module key, in file order; `suffixes` is empty for unknown names. */
export interface TensorGroup {
  readonly moduleKey: string;
  readonly tensors: string[];
  readonly suffixes: Map<string, string>;
}

/** Groups adapter tensor names by module key (a name with no known suffix is its own group). */
export function groupTensors(names: Iterable<string>, known: AdapterTensorSuffixes): TensorGroup[] {
  const groups = new Map<string, TensorGroup>();
  for (const name of names) {
    const split = splitTensorName(name, known);
    const moduleKey = split?.moduleKey ?? name;
    const id = split === null ? `\u0000${name}` : moduleKey;
    const g = groups.get(id) ?? { moduleKey, tensors: [], suffixes: new Map<string, string>() };
    g.tensors.push(name);
    if (split !== null) g.suffixes.set(split.suffix, name);
    groups.set(id, g);
  }
  return [...groups.values()];
}

/** `offset` (rows of a ComfyUI key) composed with `source` (the key's rows in the checkpoint tensor). */
function compose(source: RowSlice | null, offset: RowSlice | null): RowSlice | null {
  if (source === null || offset === null) return offset ?? source;
  return { dim: offset.dim, start: source.start + offset.start, size: offset.size };
}

function target(
  base: Pick<BaseCheckpoint, "comfyKeys">,
  part: "weight" | "bias",
  t: ComfyTarget,
): KeyMapTarget {
  const source = base.comfyKeys.get(t.key);
  return {
    part,
    comfyKey: t.key,
    comfyOffset: t.offset,
    function: t.function,
    tensor: source?.tensor ?? null,
    slice: source === undefined ? null : compose(source.slice, t.offset),
    applied: source !== undefined,
  };
}

/** ComfyUI's bias key: `<weight key minus 7 characters>.bias`, or `"().bias"` for a tuple target. */
function biasTarget(t: ComfyTarget): ComfyTarget {
  return {
    key: t.tuple ? "().bias" : `${t.key.slice(0, -".weight".length)}.bias`,
    offset: null,
    function: null,
    tuple: false,
  };
}

/** The diffusers attention-processor form ComfyUI reads (`….attn1.processor.to_q`, `….processor.to_out`). */
function processorForm(key: string): string {
  const p = key.replaceAll(".to_", ".processor.to_");
  return p.endsWith(".to_out.0") ? p.slice(0, -".0".length) : p;
}

const TEXT_ENCODER_PREFIXES = [
  "lora_te_",
  "lora_te1_",
  "lora_te2_",
  "text_encoder.",
  "text_encoder_2.",
  "text_encoders.",
];

function missingPartHint(base: BaseCheckpoint, prefix: string): string {
  const has = (c: BaseComponent): boolean => base.components.includes(c);
  if ((prefix === "lora_te2_" || prefix === "text_encoder_2.") && !has("clip_g")) {
    return "; the checkpoint has no second text encoder (OpenCLIP bigG)";
  }
  if (TEXT_ENCODER_PREFIXES.includes(prefix) && !has("clip_l") && !has("clip_g")) {
    return "; the checkpoint has no text encoder";
  }
  if (!TEXT_ENCODER_PREFIXES.includes(prefix) && prefix !== "" && !has("unet") && !has("flux")) {
    return "; the checkpoint has no diffusion model";
  }
  return "";
}

interface Resolver {
  readonly table: ReadonlyMap<string, ComfyTarget>;
  readonly closest: (key: string) => ClosestBaseName[];
}

function makeResolver(base: BaseCheckpoint, limit: number): Resolver {
  const table = buildLoraKeyTable(base);
  const byPrefix = new Map<string, string[]>();
  const candidates = (prefix: string): string[] => {
    let list = byPrefix.get(prefix);
    if (list === undefined) {
      list = [];
      for (const [k, t] of table) {
        if (keyLayout(k).prefix === prefix && base.comfyKeys.has(t.key)) list.push(k);
      }
      byPrefix.set(prefix, list);
    }
    return list;
  };
  const closest = (key: string): ClosestBaseName[] => {
    const { prefix } = keyLayout(key);
    const peft = prefix === PEFT_PREFIX;
    const query = peft ? key.slice(PEFT_PREFIX.length) : key;
    const pool = candidates(peft ? keyLayout(query).prefix : prefix);
    return closestNames(query, pool, limit).map((k) => {
      const t = table.get(k)!;
      const source = base.comfyKeys.get(t.key)!;
      return {
        key: peft ? PEFT_PREFIX + k : k,
        tensor: source.tensor,
        slice: compose(source.slice, t.offset),
      };
    });
  };
  return { table, closest };
}

/** The patch target of a module key (PEFT's `base_model.model.` names looked up without it). */
export function lookup(table: ReadonlyMap<string, ComfyTarget>, key: string): ComfyTarget | undefined {
  const direct = table.get(key);
  if (direct !== undefined || !key.startsWith(PEFT_PREFIX)) return direct;
  return table.get(key.slice(PEFT_PREFIX.length));
}

/** Example suffixes for a message: two LoRA forms, each variant's first tensor, `.diff`, `.alpha`. */
function suffixExamples(known: AdapterTensorSuffixes): string {
  const variants = known.variants.flatMap((v) => v.suffixes.slice(0, 1));
  return [".lora_up.weight", ".lora_A.weight", ...variants, ".diff", ".alpha", "..."].join(", ");
}

/** The fields of an entry that is not placed: no kind, no targets, every tensor not loaded. */
export function unplacedFields(g: TensorGroup) {
  return { moduleKey: g.moduleKey, kind: null, tensors: g.tensors, unread: g.tensors, targets: [] } as const;
}

/** The entry of names that end in no adapter tensor suffix (`unknown_layout`). */
export function noSuffixEntry(g: TensorGroup, known: AdapterTensorSuffixes): KeyMapEntry {
  return {
    ...unplacedFields(g),
    layout: null,
    status: "unknown_layout",
    message: `'${g.moduleKey}' ends in no adapter tensor suffix (${suffixExamples(known)})`,
    closest: [],
  };
}

function unplaced(
  base: BaseCheckpoint,
  r: Resolver,
  g: TensorGroup,
  known: AdapterTensorSuffixes,
): KeyMapEntry {
  if (g.suffixes.size === 0) return noSuffixEntry(g, known);
  const common = unplacedFields(g);
  const { prefix, layout } = keyLayout(g.moduleKey);
  const form = processorForm(g.moduleKey);
  if (form !== g.moduleKey && lookup(r.table, form) !== undefined) {
    return {
      ...common,
      layout,
      status: "unknown_layout",
      message: `'${g.moduleKey}': the loaders read diffusers UNet attention LoRA keys only in the attention-processor form '${form}'`,
      closest: r.closest(g.moduleKey),
    };
  }
  const noPrefix = prefix === "" && layout !== "diffusers-attn-procs";
  const where = `this ${base.family} checkpoint (${base.components.join(", ")})`;
  return {
    ...common,
    layout,
    status: noPrefix ? "unknown_layout" : "no_such_module",
    message: noPrefix
      ? `'${g.moduleKey}' has no known prefix and names no module of ${where}`
      : `'${g.moduleKey}' (${layout}) names no module of ${where}${missingPartHint(base, prefix)}`,
    closest: r.closest(g.moduleKey),
  };
}

/**
 * The entry of a module key mapped to `t` (`base.comfyKeys` says which targets reach the base):
 * its weight and bias targets, the tensors the loaders do not read, and what is not applied.
 */
export function placed(
  base: Pick<BaseCheckpoint, "comfyKeys">,
  g: TensorGroup,
  t: ComfyTarget,
  layout: AdapterLayout,
  known: AdapterTensorSuffixes,
): KeyMapEntry {
  const read = readModuleTensors(new Set(g.suffixes.keys()), known);
  const targets: KeyMapTarget[] = [];
  if (read.weight) targets.push(target(base, "weight", t));
  if (read.bias) targets.push(target(base, "bias", biasTarget(t)));
  const unread = [...g.suffixes].filter(([s]) => !read.read.has(s)).map(([, name]) => name);
  const problems: string[] = [];
  for (const x of targets) {
    if (x.applied) continue;
    problems.push(
      x.comfyKey === "().bias"
        ? "its bias delta targets a sliced or function weight: ComfyUI builds that bias key from a tuple ('().bias') and drops it"
        : `mapped to '${x.comfyKey}', which this checkpoint does not have`,
    );
  }
  if (unread.length > 0) problems.push(`the loaders do not read ${unread.join(", ")}`);
  if (targets.length === 0) problems.push("no weight tensors to apply (only alpha / dora_scale)");
  return {
    moduleKey: g.moduleKey,
    layout,
    kind: read.kind,
    tensors: g.tensors,
    unread,
    status: targets.some((x) => x.applied) ? "placed" : "not_applied",
    targets,
    message: problems.length === 0 ? null : `'${g.moduleKey}': ${problems.join("; ")}`,
    closest: [],
  };
}

/**
 * Places every module key of a kohya / LyCORIS / diffusers / PEFT-in-one-file adapter onto a base
 * checkpoint's real tensor names, as ComfyUI's loader does (`model_lora_keys_unet`,
 * `model_lora_keys_clip`, `load_lora`; see docs/lycoris-format.md "Layouts"). The family (SD1.x,
 * SDXL, Flux) comes from the base names; the producer layout of each key from its prefix. Module
 * keys are the tensor names before their tensor suffix (`.lora_A.weight`, `_lora.up.weight`,
 * `.alpha`, `.diff_b`, a registered variant's kohya tensor names, ...). Fused targets carry their rows (Flux `qkv` /
 * `linear1`, SDXL te2 `in_proj_weight`), Flux `norm_out.linear` the `swap_scale_shift` function.
 * Keys that cannot be placed are reported with the reason and the closest base names; tensors the
 * loaders would not read are listed in `notLoaded`, mapped targets missing from the checkpoint in
 * `notApplied`.
 *
 * @param base the checkpoint's tensor names and shapes (shapes give fused widths).
 * @param adapterTensorNames every tensor name of the adapter file.
 * @param options `registry`: the variants whose kohya tensors the file may hold; `closest`.
 * @throws LycorisFormatError `unmatched_key` when the checkpoint is not SD1.x, SDXL or Flux;
 *   `shape_mismatch` when a fused width cannot be read from its shape.
 */
export function mapAdapterKeys(
  base: BaseTensorShapes,
  adapterTensorNames: Iterable<string>,
  options: MapAdapterKeysOptions,
): AdapterKeyMap {
  const checkpoint = readBaseCheckpoint(base);
  const resolver = makeResolver(checkpoint, options.closest ?? 3);
  const known = adapterTensorSuffixes(kohyaVariants(options.registry));
  const entries = groupTensors(adapterTensorNames, known).map((g) => {
    const t = g.suffixes.size === 0 ? undefined : lookup(resolver.table, g.moduleKey);
    return t === undefined
      ? unplaced(checkpoint, resolver, g, known)
      : placed(checkpoint, g, t, keyLayout(g.moduleKey).layout, known);
  });
  return {
    family: checkpoint.family,
    components: checkpoint.components,
    entries,
    notLoaded: entries.flatMap((e) => e.unread),
    notApplied: entries.flatMap((e) => e.targets.filter((t) => !t.applied)),
  };
}

/**
 * Throws unless every adapter tensor is read and every mapped target reaches the checkpoint (the
 * `--strict` rule).
 *
 * @throws LycorisFormatError `unmatched_key` naming the first problem key and the count.
 */
export function assertAdapterKeysPlaced(map: AdapterKeyMap): void {
  const bad = map.entries.filter((e) => e.message !== null);
  if (bad.length === 0) return;
  const first = bad[0]!;
  const more = bad.length > 1 ? ` (and ${bad.length - 1} more module keys)` : "";
  const near = first.closest.length > 0 ? `; closest: ${first.closest.map((c) => c.key).join(", ")}` : "";
  throw new LycorisFormatError("unmatched_key", first.moduleKey, `${first.message}${near}${more}`);
}
