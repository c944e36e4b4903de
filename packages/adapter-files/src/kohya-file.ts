import type { Tensor } from "@lycoris-ts/kernels";
import {
  isLycorisKeyNaming,
  kohyaVariants,
  type LoaderPatch,
  type LoaderPatchTarget,
  type LycorisAdapter,
  type PrefixedLoaderPatch,
  type PrefixedLoaderPatches,
  readLycorisAdapter,
  readPrefixedLoaderPatches,
} from "@lycoris-ts/lycoris-format";
import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { parseSafetensors } from "@lycoris-ts/safetensors";
import { type FileInput, readBytes } from "./file-input";
import { nodeFs } from "./node-builtins";
import { openTensorFile, type TensorFile } from "./tensor-file";

/**
 * Whether `input` is one safetensors file with kohya / LyCORIS key names of a registered variant
 * (lycoris-format's `isLycorisKeyNaming`; header only). `false` for directories and unreadable files.
 */
export async function isKohyaFile(input: FileInput, registry: AdapterRegistry): Promise<boolean> {
  if (typeof input === "string") {
    const s = await nodeFs()
      .stat(input)
      .catch(() => null);
    if (s === null || !s.isFile()) return false;
  }
  let reader: TensorFile;
  try {
    reader = await openTensorFile(input);
  } catch {
    return false;
  }
  try {
    return isLycorisKeyNaming(reader.names, registry);
  } finally {
    await reader.close();
  }
}

/** The module paths a base model file implies: every `<module>.weight` tensor, minus `.weight`. */
export function baseModuleNames(base: TensorFile): string[] {
  return base.header.tensors
    .filter((t) => t.name.endsWith(".weight"))
    .map((t) => t.name.slice(0, -".weight".length));
}

/**
 * Reads a kohya / LyCORIS-format adapter file against a base model file's module names.
 *
 * @throws AdapterFilesError (`input`) when the file cannot be read; LycorisFormatError, SafetensorsError.
 */
export async function readKohyaFile(
  input: FileInput,
  base: TensorFile,
  registry: AdapterRegistry,
  prefixes: Readonly<Record<string, string>> | undefined,
): Promise<LycorisAdapter> {
  return readLycorisAdapter(await readBytes(input), {
    moduleNames: baseModuleNames(base),
    registry,
    ...(prefixes === undefined ? {} : { prefixes }),
  });
}

/**
 * How summaries name a patch's kind on a generic base: the `peft_type` of the registered variant
 * whose kohya `algo` it is (`LOKR`, and `LORA` for the loaders' LoRA / LoCon when LoRA is registered),
 * else the loaders' own kind (`diff`, `lora`).
 */
export function patchKindName(patch: LoaderPatch, registry: AdapterRegistry): string {
  const w = patch.weight;
  if (w?.form === "variant") return w.module.algo;
  return kohyaVariants(registry).find((v) => v.kohya.algo === patch.kind)?.variant.peftType ?? patch.kind;
}

/** Whether a patch carries DoRA magnitudes. */
export function patchHasDora(patch: LoaderPatch): boolean {
  const w = patch.weight;
  if (w === null || w.form === "diff") return false;
  return (w.form === "lora" ? w.doraScale : w.module.doraScale) !== null;
}

/** The base tensors a module read on a generic base patches: `<module>.weight` (weight patch), `<module>.bias` (bias difference). */
export function prefixedTargets(m: PrefixedLoaderPatch): [string, LoaderPatchTarget][] {
  const out: [string, LoaderPatchTarget][] = [];
  if (m.patch.weight !== null)
    out.push([`${m.moduleName}.weight`, { part: "weight", slice: null, function: null }]);
  if (m.patch.bias !== null)
    out.push([`${m.moduleName}.bias`, { part: "bias", slice: null, function: null }]);
  return out;
}

/** A single-file adapter read against a generic base: its modules' patches and the file's tensors. */
export interface KohyaFilePatches extends PrefixedLoaderPatches {
  readonly tensors: ReadonlyMap<string, Tensor<Float32Array>>;
}

/**
 * Reads a single-file adapter against a base model file's module names with ComfyUI's rules for
 * every module kind (lycoris-format's `readPrefixedLoaderPatches`).
 *
 * @throws AdapterFilesError (`input`) when the file cannot be read; LycorisFormatError, SafetensorsError.
 */
export async function readKohyaFilePatches(
  input: FileInput,
  base: TensorFile,
  registry: AdapterRegistry,
  prefixes: Readonly<Record<string, string>> | undefined,
): Promise<KohyaFilePatches> {
  const { tensors } = parseSafetensors(await readBytes(input));
  const read = readPrefixedLoaderPatches(tensors, {
    moduleNames: baseModuleNames(base),
    registry,
    ...(prefixes === undefined ? {} : { prefixes }),
  });
  return { ...read, tensors };
}
