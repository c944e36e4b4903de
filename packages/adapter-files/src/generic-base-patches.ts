import type { Tensor } from "@lycoris-ts/kernels";
import {
  kohyaVariants,
  type LoaderPatch,
  type LoaderPatchTarget,
  type PrefixedLoaderPatch,
  type PrefixedLoaderPatches,
  readPrefixedLoaderPatches,
} from "@lycoris-ts/lycoris-format";
import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { type FileInput, inputName } from "./file-input";
import { baseModuleNames } from "./kohya-file";
import { readAdapterFile } from "./read-adapter-file";
import type { TensorFile } from "./tensor-file";

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
 * @throws AdapterFilesError (`input`) when the file cannot be read or is not a safetensors file; LycorisFormatError.
 */
export async function readKohyaFilePatches(
  input: FileInput,
  base: TensorFile,
  registry: AdapterRegistry,
  prefixes: Readonly<Record<string, string>> | undefined,
): Promise<KohyaFilePatches> {
  const tensors = await readAdapterFile(input, inputName(input));
  const read = readPrefixedLoaderPatches(tensors, {
    moduleNames: baseModuleNames(base),
    registry,
    ...(prefixes === undefined ? {} : { prefixes }),
  });
  return { ...read, tensors };
}
