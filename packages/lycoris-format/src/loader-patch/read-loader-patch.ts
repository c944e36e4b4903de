import type { Tensor } from "@lycoris-ts/kernels";
import type { AdapterRegistry } from "@lycoris-ts/runtime";
import {
  adapterTensorSuffixes,
  type ModuleTensorsRead,
  RESHAPE_SUFFIX,
  readModuleTensors,
} from "../key-map/adapter-tensor-suffix";
import type { KeyMapEntry } from "../key-map/key-map-types";
import { keyLayout } from "../key-map/lora-key-table";
import { type KohyaVariant, kohyaVariants } from "../kohya-variants";
import { LycorisFormatError } from "../lycoris-format-error";
import { alphaValue, readVariantFactors, variantModule } from "../read-variant-factors";
import { shapeText } from "../shape-text";
import type { LoaderPatch, LoaderWeightPatch } from "./loader-patch";

/** The tensors of one module key by suffix (`.lora_up.weight` → tensor), only those the loaders read. */
type BySuffix = ReadonlyMap<string, Tensor<Float32Array>>;

function required(bySuffix: BySuffix, suffix: string, moduleKey: string): Tensor<Float32Array> {
  const t = bySuffix.get(suffix);
  if (t === undefined) {
    throw new LycorisFormatError(
      "missing_tensor",
      moduleKey,
      `module '${moduleKey}' has no '${moduleKey}${suffix}'`,
    );
  }
  return t;
}

function loraPatch(
  bySuffix: BySuffix,
  form: NonNullable<ModuleTensorsRead["lora"]>,
  moduleKey: string,
): LoaderWeightPatch {
  if (bySuffix.has(RESHAPE_SUFFIX)) {
    throw new LycorisFormatError(
      "not_supported",
      moduleKey,
      `module '${moduleKey}': ${RESHAPE_SUFFIX.slice(1)} (a LoRA that pads the base weight to another shape) is not merged by lycoris-ts`,
    );
  }
  const up = required(bySuffix, form.up, moduleKey);
  const down = required(bySuffix, form.down, moduleKey);
  const mid = form.mid === undefined ? null : (bySuffix.get(form.mid) ?? null);
  const rank = down.shape[0]!;
  const inner = mid === null ? rank : mid.shape[0]!;
  const fits = up.shape[1] === inner && (mid === null || (mid.shape.length >= 3 && mid.shape[1] === rank));
  if (!fits) {
    const midText = mid === null ? "" : `, mid ${shapeText(mid.shape)}`;
    throw new LycorisFormatError(
      "shape_mismatch",
      moduleKey,
      `module '${moduleKey}': up ${shapeText(up.shape)}${midText} and down ${shapeText(down.shape)} do not chain (up's columns must equal ${mid === null ? "down's rows" : "mid's first axis, mid's second axis down's rows"})`,
    );
  }
  const alpha = alphaValue(bySuffix.get(".alpha"), moduleKey);
  return {
    form: "lora",
    up,
    down,
    mid,
    rank,
    alpha,
    scale: alpha === null ? 1 : alpha / rank,
    doraScale: bySuffix.get(".dora_scale") ?? null,
  };
}

function variantPatch(bySuffix: BySuffix, kv: KohyaVariant, entry: LoaderPatchSource): LoaderWeightPatch {
  const moduleKey = entry.moduleKey;
  const factors = new Map<string, Tensor<Float32Array>>();
  for (const name of Object.keys(kv.kohya.tensorNames)) {
    const t = bySuffix.get(`.${name}`);
    if (t !== undefined) factors.set(name, t);
  }
  const read = readVariantFactors(factors, kv, moduleKey, `module '${moduleKey}'`);
  const alpha = alphaValue(bySuffix.get(".alpha"), moduleKey);
  const names = { moduleName: moduleKey, fileKey: moduleKey, prefix: keyLayout(moduleKey).prefix };
  return {
    form: "variant",
    module: variantModule(names, kv, read, alpha, bySuffix.get(".dora_scale") ?? null),
  };
}

function weightPatch(
  bySuffix: BySuffix,
  read: ModuleTensorsRead,
  entry: LoaderPatchSource,
  variants: readonly KohyaVariant[],
): LoaderWeightPatch | null {
  if (!read.weight) return null;
  const moduleKey = entry.moduleKey;
  if (read.kind === "diff" && read.weightDiff !== null) {
    return { form: "diff", diff: required(bySuffix, read.weightDiff, moduleKey) };
  }
  if (read.kind === "lora" && read.lora !== null) return loraPatch(bySuffix, read.lora, moduleKey);
  const kv = variants.find((v) => v.kohya.algo === read.kind);
  if (kv !== undefined) return variantPatch(bySuffix, kv, entry);
  throw new LycorisFormatError(
    "not_supported",
    moduleKey,
    `module '${moduleKey}': the loaders read it as a '${read.kind}' patch, which lycoris-ts does not merge (it merges lora, diff, w_norm / b_norm and the registered variants: ${variants.map((v) => v.kohya.algo).join(", ") || "none"})`,
  );
}

/** The tensors of one module key to read: a key map entry's, or a module key resolved otherwise. */
export type LoaderPatchSource = Pick<KeyMapEntry, "moduleKey" | "tensors" | "unread">;

/**
 * Reads one placed module key of a key map ({@link mapAdapterKeys}) as ComfyUI's `load_lora` does:
 * the tensors it reads (`entry.tensors` minus `entry.unread`), the patch kind (the last present of
 * LoRA, the registered variants, ..., `w_norm`, `diff`), `alpha` / `dora_scale`, and the bias
 * difference (`diff_b`, else `b_norm`). `tensors` holds at least those tensors, by full name.
 *
 * @throws LycorisFormatError `missing_tensor` / `shape_mismatch` for factors that do not fit each
 *   other; `not_supported` for kinds lycoris-ts does not merge (GLoRA, OFT, BOFT, set, reshape_weight).
 */
export function readLoaderPatch(
  entry: LoaderPatchSource,
  tensors: ReadonlyMap<string, Tensor<Float32Array>>,
  registry: AdapterRegistry,
): LoaderPatch {
  const variants = kohyaVariants(registry);
  const bySuffix = new Map<string, Tensor<Float32Array>>();
  for (const name of entry.tensors) {
    if (entry.unread.includes(name)) continue;
    const t = tensors.get(name);
    if (t === undefined) {
      throw new LycorisFormatError("missing_tensor", entry.moduleKey, `tensor '${name}' was not given`);
    }
    bySuffix.set(name.slice(entry.moduleKey.length), t);
  }
  const read = readModuleTensors(new Set(bySuffix.keys()), adapterTensorSuffixes(variants));
  const weight = weightPatch(bySuffix, read, entry, variants);
  const bias = read.biasDiff === null ? null : required(bySuffix, read.biasDiff, entry.moduleKey);
  return { moduleKey: entry.moduleKey, kind: read.kind ?? "diff", weight, bias };
}
