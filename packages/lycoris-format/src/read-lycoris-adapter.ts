import type { Tensor } from "@lycoris-ts/kernels";
import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { parseSafetensors } from "@lycoris-ts/safetensors";
import { type KohyaVariant, kohyaTypeList, kohyaVariantOf, kohyaVariants } from "./kohya-variants";
import { LycorisFormatError } from "./lycoris-format-error";
import type { LycorisAdapter, LycorisModule } from "./lycoris-module";
import { moduleKeyResolver } from "./module-key-resolver";
import { alphaValue, readVariantFactors, variantModule } from "./read-variant-factors";

/** Options of {@link readLycorisAdapter}. */
export interface ReadLycorisOptions {
  /** Every module name of the model (full dotted paths; containers may be included). */
  readonly moduleNames: Iterable<string>;
  /**
   * File prefix → sub-model root path (`{ lora_unet: "unet" }`, `""` = the whole model). Prefixes
   * not named here get the FORMAT defaults, or the root under which their keys name modules.
   */
  readonly prefixes?: Readonly<Record<string, string>>;
  /** Registry holding the variants (with a `kohya` hook) that the file's modules belong to and that rebuild ΔW. */
  readonly registry: AdapterRegistry;
}

interface Group {
  readonly fileKey: string;
  readonly tensors: Map<string, Tensor<Float32Array>>;
}

const FORMAT_TENSORS = ["alpha", "dora_scale"];

function groupKeys(
  tensors: ReadonlyMap<string, Tensor<Float32Array>>,
  variants: readonly KohyaVariant[],
): Group[] {
  const groups = new Map<string, Group>();
  for (const [key, t] of tensors) {
    const dot = key.indexOf(".");
    const param = dot > 0 ? key.slice(dot + 1) : "";
    if (!FORMAT_TENSORS.includes(param) && kohyaVariantOf(param, variants) === undefined) {
      const known = [...FORMAT_TENSORS, ...variants.flatMap((v) => Object.keys(v.kohya.tensorNames))];
      throw new LycorisFormatError(
        "unknown_key",
        dot > 0 ? key.slice(0, dot) : key,
        `unknown tensor '${key}': expected <module key>.<${known.join("|")}> (${kohyaTypeList(variants)} only)`,
      );
    }
    const fileKey = key.slice(0, dot);
    const g = groups.get(fileKey) ?? { fileKey, tensors: new Map() };
    g.tensors.set(param, t);
    groups.set(fileKey, g);
  }
  return [...groups.values()];
}

/** The one registered variant whose kohya tensors the module holds. */
function variantOf(g: Group, moduleName: string, variants: readonly KohyaVariant[]): KohyaVariant {
  const owners = new Map<KohyaVariant, string>();
  for (const name of g.tensors.keys()) {
    const v = kohyaVariantOf(name, variants);
    if (v !== undefined && !owners.has(v)) owners.set(v, name);
  }
  const where = `module '${moduleName}' (${g.fileKey})`;
  if (owners.size > 1) {
    const both = [...owners].map(([v, n]) => `${v.variant.peftType} (${n})`).join(" and ");
    throw new LycorisFormatError("invalid_module", moduleName, `${where} has tensors of both ${both}`);
  }
  const [only] = owners.keys();
  if (only === undefined) {
    throw new LycorisFormatError(
      "missing_tensor",
      moduleName,
      `${where} has no ${kohyaTypeList(variants)} factors (only ${[...g.tensors.keys()].join(", ")})`,
    );
  }
  return only;
}

/** The module's factors under the variant's PEFT names, checked and described by the variant. */
function readFactors(g: Group, moduleName: string, kv: KohyaVariant) {
  const factors = new Map([...g.tensors].filter(([tensor]) => !FORMAT_TENSORS.includes(tensor)));
  return readVariantFactors(factors, kv, moduleName, `module '${moduleName}' (${g.fileKey})`);
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
 * Reads a kohya / LyCORIS-format file (bytes of a safetensors file, or its decoded tensors) against
 * a model's module names, with the kohya loaders' (ComfyUI's) rules: the algorithm per module from
 * the tensor names (the registered variants' `kohya.tensorNames`), the rank as the variant's
 * `describeParameters` reads it (none when every factor is full: scale 1, alpha ignored), scale
 * `alpha / rank` (1 without alpha). Factors get the variant's PEFT names; 3-D Conv1d Tucker cores
 * get PEFT's trailing unit axis.
 *
 * @throws LycorisFormatError for unknown tensor names, keys that name no (or several) modules,
 *   missing tensors and factors whose shapes do not fit each other.
 */
export function readLycorisAdapter(
  source: Uint8Array | ReadonlyMap<string, Tensor<Float32Array>>,
  options: ReadLycorisOptions,
): LycorisAdapter {
  const { tensors, metadata } = toTensors(source);
  const variants = kohyaVariants(options.registry);
  const groups = groupKeys(tensors, variants);
  if (groups.length === 0) {
    throw new LycorisFormatError(
      "invalid_module",
      "",
      `the file holds no ${kohyaTypeList(variants)} tensors`,
    );
  }
  const resolver = moduleKeyResolver(
    groups.map((g) => g.fileKey),
    [...options.moduleNames],
    options.prefixes,
  );
  const modules: LycorisModule[] = [];
  for (const g of groups) {
    const { moduleName, prefix } = resolver.resolve(g.fileKey);
    const kv = variantOf(g, moduleName, variants);
    const read = readFactors(g, moduleName, kv);
    const alpha = alphaValue(g.tensors.get("alpha"), moduleName);
    const names = { moduleName, fileKey: g.fileKey, prefix };
    modules.push(variantModule(names, kv, read, alpha, g.tensors.get("dora_scale") ?? null));
  }
  return { modules, prefixes: resolver.prefixes, metadata };
}
