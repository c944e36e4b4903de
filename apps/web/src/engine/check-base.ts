import type { AdapterInput, BaseInput, FileInput } from "@lycoris-ts/adapter-files";
import {
  baseModuleNames,
  type InspectReport,
  openBaseModel,
  validateAdapters,
  validateKohyaFile,
} from "@lycoris-ts/adapter-files";
import {
  type AdapterKeyMap,
  closestNames,
  LycorisFormatError,
  mapAdapterKeys,
  mapGenericAdapterKeys,
} from "@lycoris-ts/lycoris-format";
import type { AdapterRegistry } from "@lycoris-ts/runtime";
import type { BaseCheck, UnplacedKey } from "./protocol";

const CLOSEST = 3;

/**
 * PEFT modules the base has no weight for, each with the closest base module names (lycoris-format's
 * `closestNames`). Single files are placed by the key maps instead.
 */
function unplacedPeftModules(report: InspectReport, modules: readonly string[]): UnplacedKey[] {
  const weights = new Set(modules);
  return report.adapters
    .flatMap((a) => a.modules.map((m) => m.module))
    .filter((key) => !weights.has(key))
    .map((key) => ({
      key,
      message: `the base model has no weight '${key}.weight'`,
      closest: closestNames(key, modules, CLOSEST),
    }));
}

/** ComfyUI's key map for SD1.x / SDXL / Flux checkpoints; for other models, why there is none. */
function comfyKeyMap(
  shapes: readonly { readonly name: string; readonly shape: readonly number[] }[],
  adapterTensors: readonly string[],
  registry: AdapterRegistry,
): { keyMap: AdapterKeyMap | null; keyMapNote: string | null } {
  try {
    return {
      keyMap: mapAdapterKeys(shapes, adapterTensors, { registry, closest: CLOSEST }),
      keyMapNote: null,
    };
  } catch (error) {
    if (!(error instanceof LycorisFormatError)) throw error;
    return { keyMap: null, keyMapNote: error.message };
  }
}

/**
 * The key map's modules that reach no checkpoint tensor (no such module, unknown layout, mapped onto a
 * tensor the checkpoint lacks), with the closest base names it found.
 */
function keyMapUnplaced(keyMap: AdapterKeyMap): UnplacedKey[] {
  return keyMap.entries
    .filter((e) => e.status !== "placed")
    .map((e) => ({
      key: e.moduleKey,
      message: e.message ?? `'${e.moduleKey}': ${e.status}`,
      closest: e.closest.map((c) => c.key),
    }));
}

/**
 * Checks an adapter against a base model: the file engine's validation (every module against its
 * base weight, shape mismatches named per module) and the modules the base lacks with the closest base
 * names. A single file is placed by a key map: ComfyUI's on SD1.x / SDXL / Flux checkpoints (alone: its
 * names are not the checkpoint's module names), lycoris-format's generic one (the file's prefixes) on
 * other models.
 */
export async function checkAgainstBase(
  input: AdapterInput,
  report: InspectReport,
  base: BaseInput,
  registry: AdapterRegistry,
  adapterTensors: readonly string[],
): Promise<BaseCheck> {
  const kohya = report.format === "kohya-safetensors";
  const file = await openBaseModel(base);
  let modules: string[];
  let shapes: { name: string; shape: readonly number[] }[];
  try {
    modules = baseModuleNames(file);
    shapes = file.header.tensors.map((t) => ({ name: t.name, shape: t.shape }));
  } finally {
    await file.close();
  }
  const map = comfyKeyMap(shapes, adapterTensors, registry);
  if (kohya && map.keyMap !== null) return { validation: null, unplaced: keyMapUnplaced(map.keyMap), ...map };
  if (kohya) {
    // other models: the file's prefixes / dotted module paths, as merge and validate resolve them
    const keyMap = mapGenericAdapterKeys(shapes, adapterTensors, { registry, closest: CLOSEST });
    const validation = await validateKohyaFile(input as FileInput, { base, registry });
    return { validation, unplaced: keyMapUnplaced(keyMap), keyMap, keyMapNote: null };
  }
  const validation =
    report.format === "peft-directory" ? await validateAdapters(input, registry, { base }) : null;
  return { validation, unplaced: unplacedPeftModules(report, modules), ...map };
}
