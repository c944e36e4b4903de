import type { Tensor } from "@lycoris-ts/kernels";
import {
  type AdapterTensorSuffixes,
  adapterTensorSuffixes,
  readModuleTensors,
  splitTensorName,
} from "../key-map/adapter-tensor-suffix";
import { kohyaVariants } from "../kohya-variants";
import { LycorisFormatError } from "../lycoris-format-error";
import { moduleKeyResolver } from "../module-key-resolver";
import type { ReadLycorisOptions } from "../read-lycoris-adapter";
import type { LoaderPatch } from "./loader-patch";
import { readLoaderPatch } from "./read-loader-patch";

/** One module of a file on a generic model: the module it names and its patch. */
export interface PrefixedLoaderPatch {
  /** The module path in the model: the patch lands on `<moduleName>.weight` (and `.bias`). */
  readonly moduleName: string;
  /** The file prefix that matched (`lora_unet`, `lycoris`, ...); `""` for a dotted module path. */
  readonly prefix: string;
  /** The module's tensors in the file, in file order. */
  readonly tensors: readonly string[];
  readonly patch: LoaderPatch;
}

/** Every module of a file read against a generic model's module names. */
export interface PrefixedLoaderPatches {
  /** In file order. */
  readonly modules: readonly PrefixedLoaderPatch[];
  /** File prefix → sub-model root used to resolve the keys. */
  readonly prefixes: Readonly<Record<string, string>>;
}

interface Group {
  readonly moduleKey: string;
  readonly tensors: string[];
  readonly suffixes: Set<string>;
}

function groupTensors(names: Iterable<string>, known: AdapterTensorSuffixes): Group[] {
  const groups = new Map<string, Group>();
  for (const name of names) {
    const split = splitTensorName(name, known);
    if (split === null) {
      const dot = name.indexOf(".");
      throw new LycorisFormatError(
        "unknown_key",
        dot > 0 ? name.slice(0, dot) : name,
        `unknown tensor '${name}': it ends in no adapter tensor suffix the loaders read (${known.all.join(", ")})`,
      );
    }
    const g = groups.get(split.moduleKey) ?? { moduleKey: split.moduleKey, tensors: [], suffixes: new Set() };
    g.tensors.push(name);
    g.suffixes.add(split.suffix);
    groups.set(split.moduleKey, g);
  }
  return [...groups.values()];
}

/**
 * Reads a single-file adapter against a generic model (tensor names are module paths; no SD1.x /
 * SDXL / Flux key map): module keys split off their tensor suffixes as the key map does, resolved
 * through kohya prefixes (`lora_unet_…`, `lycoris_…`, see {@link readLycorisAdapter}) or as dotted
 * module paths, and each module read with ComfyUI's rules ({@link readLoaderPatch}): every LoRA form
 * (kohya `lora_up` / `lora_down` with the Tucker `lora_mid`, diffusers `lora_A` / `lora_B`, ...), the
 * registered variants, `.diff`, `w_norm`, `diff_b` / `b_norm`, `alpha`, `dora_scale`.
 *
 * @throws LycorisFormatError `unknown_key` (a tensor the loaders do not read), `unmatched_key` /
 *   `ambiguous_key` (keys that name no or several modules), `missing_tensor` / `shape_mismatch`
 *   (factors that do not fit each other), `not_supported` (GLoRA, OFT, ...).
 */
export function readPrefixedLoaderPatches(
  tensors: ReadonlyMap<string, Tensor<Float32Array>>,
  options: ReadLycorisOptions,
): PrefixedLoaderPatches {
  const known = adapterTensorSuffixes(kohyaVariants(options.registry));
  const groups = groupTensors(tensors.keys(), known);
  if (groups.length === 0) throw new LycorisFormatError("invalid_module", "", "the file holds no tensors");
  const resolver = moduleKeyResolver(
    groups.map((g) => g.moduleKey),
    [...options.moduleNames],
    options.prefixes,
  );
  const modules = groups.map((g): PrefixedLoaderPatch => {
    const { moduleName, prefix } = resolver.resolve(g.moduleKey);
    const read = readModuleTensors(g.suffixes, known);
    const unread = g.tensors.filter((name) => !read.read.has(name.slice(g.moduleKey.length)));
    if (unread.length > 0) {
      throw new LycorisFormatError(
        "unknown_key",
        g.moduleKey,
        `module '${g.moduleKey}' (${moduleName}): the loaders do not read ${unread.join(", ")}`,
      );
    }
    if (!read.weight && !read.bias) {
      throw new LycorisFormatError(
        "missing_tensor",
        moduleName,
        `module '${g.moduleKey}' (${moduleName}) has no weight tensors (only ${[...g.suffixes].join(", ")})`,
      );
    }
    const patch = readLoaderPatch(
      { moduleKey: g.moduleKey, tensors: g.tensors, unread },
      tensors,
      options.registry,
    );
    return { moduleName, prefix, tensors: g.tensors, patch };
  });
  return { modules, prefixes: resolver.prefixes };
}
