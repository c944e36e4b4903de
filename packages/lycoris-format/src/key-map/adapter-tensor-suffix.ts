import type { AdapterPatchKind } from "./key-map-types";

/**
 * LoRA / LoCon tensor pairs in the names producers write, in the order ComfyUI's loader tries them
 * (kohya `lora_up`/`lora_down` [+ Tucker `lora_mid`], diffusers attention processors, PEFT / diffusers
 * `lora_B`/`lora_A`, `lora.up`, Mochi's bare `lora_B`, transformers' `lora_linear_layer`, PEFT
 * `default` adapters). The first form whose up tensor is present is read.
 */
const LORA_FORMS: readonly { readonly up: string; readonly down: string; readonly mid?: string }[] = [
  { up: ".lora_up.weight", down: ".lora_down.weight", mid: ".lora_mid.weight" },
  { up: "_lora.up.weight", down: "_lora.down.weight" },
  { up: ".lora_B.weight", down: ".lora_A.weight" },
  { up: ".lora.up.weight", down: ".lora.down.weight" },
  { up: ".lora_B", down: ".lora_A" },
  { up: ".lora_linear_layer.up.weight", down: ".lora_linear_layer.down.weight" },
  { up: ".lora_B.default.weight", down: ".lora_A.default.weight" },
];
const LOHA = [".hada_w1_a", ".hada_w1_b", ".hada_w2_a", ".hada_w2_b"];
const LOHA_TUCKER = [".hada_t1", ".hada_t2"];
const LOKR = [".lokr_w1", ".lokr_w2", ".lokr_w1_a", ".lokr_w1_b", ".lokr_w2_a", ".lokr_w2_b", ".lokr_t2"];
const GLORA = [".a1.weight", ".a2.weight", ".b1.weight", ".b2.weight"];
const OFT = [".oft_blocks", ".rescale"];
const COMMON = [".alpha", ".dora_scale"];
const RESHAPE = ".reshape_weight";
const FULL = [".diff", ".diff_b", ".w_norm", ".b_norm", ".set_weight"];
/** Suffixes that name adapter tensors the loaders do not read (PEFT DoRA magnitude, embedding LoRA). */
const UNREAD = [".lora_magnitude_vector", ".lora_embedding_A", ".lora_embedding_B"];

/** Every known tensor suffix, longest first, so the longest match (the earliest split) wins. */
const SUFFIXES: readonly string[] = [
  ...new Set([
    ...LORA_FORMS.flatMap((f) => [f.up, f.down, ...(f.mid === undefined ? [] : [f.mid])]),
    ...LOHA,
    ...LOHA_TUCKER,
    ...LOKR,
    ...GLORA,
    ...OFT,
    ...COMMON,
    RESHAPE,
    ...FULL,
    ...UNREAD,
  ]),
].sort((a, b) => b.length - a.length);

/** An adapter tensor name split into its module key and tensor suffix (`.lokr_w1`, `_lora.up.weight`). */
export interface AdapterTensorName {
  readonly moduleKey: string;
  readonly suffix: string;
}

/**
 * Splits a tensor name at the first (leftmost) known tensor suffix that ends it: the module key is
 * everything before it. `null` when the name ends in no known suffix.
 */
export function splitAdapterTensorName(name: string): AdapterTensorName | null {
  for (const suffix of SUFFIXES) {
    if (name.length > suffix.length && name.endsWith(suffix)) {
      return { moduleKey: name.slice(0, -suffix.length), suffix };
    }
  }
  return null;
}

/** What the loaders read from one module's tensors. */
export interface ModuleTensorsRead {
  /** The patch the module makes (the last of LoRA, LoHa, LoKr, GLoRA, OFT, norm, diff, set present). */
  readonly kind: AdapterPatchKind | null;
  /** The suffixes read; the others are "not loaded". */
  readonly read: ReadonlySet<string>;
  /** Whether the module patches the layer's weight. */
  readonly weight: boolean;
  /** Whether it patches the layer's bias (`diff_b`, or `b_norm` next to `w_norm`). */
  readonly bias: boolean;
}

/**
 * ComfyUI's reading rule for the tensors of one mapped module key, given their suffixes: `alpha`
 * and `dora_scale` are always read; a LoRA form is read when its up tensor is present (`lora_mid`
 * and `reshape_weight` with it); LoHa when `hada_w1_a` is (Tucker cores when `hada_t1` is); every
 * `lokr_*`; GLoRA when `a1.weight` is; OFT / BOFT when `oft_blocks` is; `w_norm` (+ `b_norm`),
 * `diff`, `diff_b`, `set_weight`. Anything else is not read.
 */
export function readModuleTensors(suffixes: ReadonlySet<string>): ModuleTensorsRead {
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
  if (suffixes.has(".hada_w1_a")) {
    take(LOHA);
    if (suffixes.has(".hada_t1")) take(LOHA_TUCKER);
    kind = "loha";
  }
  if (LOKR.some((s) => suffixes.has(s))) {
    take(LOKR);
    kind = "lokr";
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
  if (suffixes.has(".w_norm")) {
    take([".w_norm"]);
    kind = "diff";
    if (suffixes.has(".b_norm")) {
      take([".b_norm"]);
      bias = true;
    }
  }
  if (suffixes.has(".diff")) {
    take([".diff"]);
    kind = "diff";
  }
  if (suffixes.has(".set_weight")) {
    take([".set_weight"]);
    kind = "set";
  }
  const weight = kind !== null;
  if (suffixes.has(".diff_b")) {
    take([".diff_b"]);
    bias = true;
    kind ??= "diff";
  }
  return { kind, read, weight, bias };
}
