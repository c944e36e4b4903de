import type { AdapterInput, BaseInput, FileInput } from "@lycoris-ts/adapter-files";
import {
  baseModuleNames,
  type InspectReport,
  openBaseModel,
  type ValidateReport,
  validateAdapters,
  validateKohyaFile,
} from "@lycoris-ts/adapter-files";
import {
  type AdapterKeyMap,
  closestNames,
  KohyaKeyMap,
  LycorisFormatError,
  mapAdapterKeys,
  resolveLycorisPrefixes,
} from "@lycoris-ts/lycoris-format";
import type { AdapterRegistry } from "@lycoris-ts/runtime";
import type { BaseCheck, UnplacedKey } from "./protocol";

const CLOSEST = 3;

/** The module a kohya key names under the file's prefixes, or `null` (ambiguous keys count as placed). */
function kohyaPlacer(keys: readonly string[], modules: readonly string[]): (key: string) => string | null {
  let map: KohyaKeyMap;
  try {
    map = new KohyaKeyMap(modules, resolveLycorisPrefixes(keys, modules));
  } catch {
    return () => null;
  }
  return (key) => {
    try {
      return map.fromKohya(`${key}.x`)?.moduleName ?? null;
    } catch {
      return key;
    }
  };
}

/**
 * Adapter modules the base has no weight for, each with the closest base module names (lycoris-format's
 * `closestNames`; kohya keys are compared with their prefix removed and `_` for `.`).
 */
function unplacedModules(report: InspectReport, modules: readonly string[], kohya: boolean): UnplacedKey[] {
  const keys = report.adapters.flatMap((a) => a.modules.map((m) => m.module));
  const weights = new Set(modules);
  const place = kohya ? kohyaPlacer(keys, modules) : (k: string) => (weights.has(k) ? k : null);
  const underscored = new Map(modules.map((m) => [m.replaceAll(".", "_"), m] as const));
  const unplaced: UnplacedKey[] = [];
  for (const key of keys) {
    if (place(key) !== null) continue;
    const query = kohya ? key.slice(key.indexOf("_") + 1) : key;
    const pool = kohya ? [...underscored.keys()] : modules;
    const closest = closestNames(query, pool, CLOSEST).map((c) => (kohya ? underscored.get(c)! : c));
    const message = kohya
      ? `key '${key}' names no module of the base model`
      : `the base model has no weight '${key}.weight'`;
    unplaced.push({ key, message, closest });
  }
  return unplaced;
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
 * base weight, shape mismatches named per module), the modules the base lacks with the closest base
 * names, and, for SD1.x / SDXL / Flux checkpoints, ComfyUI's key map. A single file on such a checkpoint
 * is placed by the key map alone (its names are not the checkpoint's module names).
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
  let validation: ValidateReport | null = null;
  if (kohya) validation = await validateKohyaFile(input as FileInput, { base, registry });
  else if (report.format === "peft-directory") validation = await validateAdapters(input, registry, { base });
  return {
    validation,
    unplaced: unplacedModules(report, modules, kohya),
    ...map,
  };
}
