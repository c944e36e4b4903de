import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { type KohyaVariant, kohyaVariants } from "../kohya-variants";
import type { AdapterPatchKind } from "./key-map-types";

/** The tensor suffixes of one LoRA / LoCon form: up, down and (kohya) the Tucker core `mid`. */
export interface LoraForm {
  readonly up: string;
  readonly down: string;
  readonly mid?: string;
}

/**
 * LoRA / LoCon tensor pairs in the names producers write, in the order ComfyUI's loader tries them
 * (kohya `lora_up`/`lora_down` [+ Tucker `lora_mid`], diffusers attention processors, PEFT / diffusers
 * `lora_B`/`lora_A`, `lora.up`, Mochi's bare `lora_B`, transformers' `lora_linear_layer`, PEFT
 * `default` adapters). The first form whose up tensor is present is read.
 */
const LORA_FORMS: readonly LoraForm[] = [
  { up: ".lora_up.weight", down: ".lora_down.weight", mid: ".lora_mid.weight" },
  { up: "_lora.up.weight", down: "_lora.down.weight" },
  { up: ".lora_B.weight", down: ".lora_A.weight" },
  { up: ".lora.up.weight", down: ".lora.down.weight" },
  { up: ".lora_B", down: ".lora_A" },
  { up: ".lora_linear_layer.up.weight", down: ".lora_linear_layer.down.weight" },
  { up: ".lora_B.default.weight", down: ".lora_A.default.weight" },
];
const GLORA = [".a1.weight", ".a2.weight", ".b1.weight", ".b2.weight"];
const OFT = [".oft_blocks", ".rescale"];
const COMMON = [".alpha", ".dora_scale"];
/** The LoRA tensor that pads the base weight to another shape before patching (not merged here). */
export const RESHAPE_SUFFIX = ".reshape_weight";
const RESHAPE = RESHAPE_SUFFIX;
const FULL = [".diff", ".diff_b", ".w_norm", ".b_norm", ".set_weight"];
/** Suffixes that name adapter tensors the loaders do not read (PEFT DoRA magnitude, embedding LoRA). */
const UNREAD = [".lora_magnitude_vector", ".lora_embedding_A", ".lora_embedding_B"];

/** A registered variant's tensors in adapter files: `.<kohya tensor name>` suffixes and its patch kind. */
export interface VariantTensorSuffixes {
  /** The variant's kohya `algo` (`lokr`, `loha`): the patch kind of a module with its tensors. */
  readonly kind: AdapterPatchKind;
  /** `.` + each of the variant's kohya tensor names, in the variant's order. */
  readonly suffixes: readonly string[];
}

/** The tensor suffixes the key map knows: the loaders' own (LoRA forms, GLoRA, OFT, diff, ...) and the variants'. */
export interface AdapterTensorSuffixes {
  /** The registered variants with a `kohya` hook, in registration order. */
  readonly variants: readonly VariantTensorSuffixes[];
  /** Every known suffix, longest first, so the longest match (the earliest split) wins. */
  readonly all: readonly string[];
}

/** The known tensor suffixes, with the kohya tensor names of `variants` (see {@link kohyaVariants}). */
export function adapterTensorSuffixes(variants: readonly KohyaVariant[]): AdapterTensorSuffixes {
  const own = variants.map((v) => ({
    kind: v.kohya.algo,
    suffixes: Object.keys(v.kohya.tensorNames).map((n) => `.${n}`),
  }));
  const all = [
    ...new Set([
      ...LORA_FORMS.flatMap((f) => [f.up, f.down, ...(f.mid === undefined ? [] : [f.mid])]),
      ...own.flatMap((v) => v.suffixes),
      ...GLORA,
      ...OFT,
      ...COMMON,
      RESHAPE,
      ...FULL,
      ...UNREAD,
    ]),
  ].sort((a, b) => b.length - a.length);
  return { variants: own, all };
}

/** An adapter tensor name split into its module key and tensor suffix (`.lora_A.weight`, `_lora.up.weight`). */
export interface AdapterTensorName {
  readonly moduleKey: string;
  readonly suffix: string;
}

/** {@link splitAdapterTensorName} with the suffixes already built. */
export function splitTensorName(name: string, known: AdapterTensorSuffixes): AdapterTensorName | null {
  for (const suffix of known.all) {
    if (name.length > suffix.length && name.endsWith(suffix)) {
      return { moduleKey: name.slice(0, -suffix.length), suffix };
    }
  }
  return null;
}

/**
 * Splits a tensor name at the first (leftmost) known tensor suffix that ends it: the module key is
 * everything before it. The known suffixes are the loaders' own (LoRA forms, GLoRA, OFT, diff / norm,
 * `alpha`, `dora_scale`, ...) and the kohya tensor names of `registry`'s variants. `null` when the
 * name ends in no known suffix.
 */
export function splitAdapterTensorName(name: string, registry: AdapterRegistry): AdapterTensorName | null {
  return splitTensorName(name, adapterTensorSuffixes(kohyaVariants(registry)));
}

/**
 * The kohya name of a tensor suffix: every LoRA form's up / down tensor becomes kohya's
 * `.lora_up.weight` / `.lora_down.weight` (the loaders read either); other suffixes are unchanged.
 */
export function kohyaTensorSuffix(suffix: string): string {
  const [kohya] = LORA_FORMS;
  for (const f of LORA_FORMS) {
    if (suffix === f.up) return kohya!.up;
    if (suffix === f.down) return kohya!.down;
  }
  return suffix;
}

/** What the loaders read from one module's tensors. */
export interface ModuleTensorsRead {
  /**
   * The patch the module makes: the last present of LoRA, the variants (in registration order),
   * GLoRA, OFT, norm, diff, set.
   */
  readonly kind: AdapterPatchKind | null;
  /** The suffixes read; the others are "not loaded". */
  readonly read: ReadonlySet<string>;
  /** Whether the module patches the layer's weight. */
  readonly weight: boolean;
  /** Whether it patches the layer's bias (`diff_b`, or `b_norm` next to `w_norm`). */
  readonly bias: boolean;
  /** The LoRA form read (its up tensor is present), or `null`. */
  readonly lora: LoraForm | null;
  /** The full difference the weight patch adds when the kind is `diff`: `.diff` (wins) or `.w_norm`. */
  readonly weightDiff: ".diff" | ".w_norm" | null;
  /** The full difference added to the bias: `.diff_b` (wins) or `.b_norm`. */
  readonly biasDiff: ".diff_b" | ".b_norm" | null;
}

/**
 * ComfyUI's reading rule for the tensors of one mapped module key, given their suffixes: `alpha`
 * and `dora_scale` are always read; a LoRA form is read when its up tensor is present (`lora_mid`
 * and `reshape_weight` with it); a registered variant's tensors when any of them is present (its
 * kind is the variant's kohya `algo`); GLoRA when `a1.weight` is; OFT / BOFT when `oft_blocks` is;
 * `w_norm` (+ `b_norm`), `diff`, `diff_b`, `set_weight`. Anything else is not read.
 */
export function readModuleTensors(
  suffixes: ReadonlySet<string>,
  known: AdapterTensorSuffixes,
): ModuleTensorsRead {
  const read = new Set<string>();
  let kind: AdapterPatchKind | null = null;
  const take = (list: readonly string[]): void => {
    for (const s of list) if (suffixes.has(s)) read.add(s);
  };
  take(COMMON);
  const lora = LORA_FORMS.find((f) => suffixes.has(f.up));
  if (lora !== undefined) {
    take([lora.up, lora.down, ...(lora.mid === undefined ? [] : [lora.mid]), RESHAPE]);
    kind = "lora";
  }
  for (const v of known.variants) {
    if (v.suffixes.some((s) => suffixes.has(s))) {
      take(v.suffixes);
      kind = v.kind;
    }
  }
  if (suffixes.has(".a1.weight")) {
    take(GLORA);
    kind = "glora";
  }
  if (suffixes.has(".oft_blocks")) {
    take(OFT);
    kind = "oft";
  }
  let bias = false;
  let weightDiff: ModuleTensorsRead["weightDiff"] = null;
  let biasDiff: ModuleTensorsRead["biasDiff"] = null;
  if (suffixes.has(".w_norm")) {
    take([".w_norm"]);
    kind = "diff";
    weightDiff = ".w_norm";
    if (suffixes.has(".b_norm")) {
      take([".b_norm"]);
      bias = true;
      biasDiff = ".b_norm";
    }
  }
  if (suffixes.has(".diff")) {
    take([".diff"]);
    kind = "diff";
    weightDiff = ".diff";
  }
  if (suffixes.has(".set_weight")) {
    take([".set_weight"]);
    kind = "set";
  }
  const weight = kind !== null;
  if (suffixes.has(".diff_b")) {
    take([".diff_b"]);
    bias = true;
    biasDiff = ".diff_b";
    kind ??= "diff";
  }
  return { kind, read, weight, bias, lora: lora ?? null, weightDiff, biasDiff };
}
