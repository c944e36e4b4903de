import type { Tensor } from "@lycoris-ts/kernels";
import {
  baseCheckpointFamily,
  checkLoaderPatchFits,
  type KeyMapEntry,
  type LoaderPatch,
  type LycorisFormatError,
  mapAdapterKeys,
  placeLoaderPatches,
  readPrefixedLoaderPatches,
} from "@lycoris-ts/lycoris-format";
import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { AdapterFilesError } from "./adapter-files-error";
import { patchHasDora, patchKindName, prefixedTargets } from "./generic-base-patches";
import { baseModuleNames } from "./kohya-file";
import type { MergeWarning } from "./merge-warning";
import type { LoaderPatchStep } from "./patch-plan";
import type { TensorFile } from "./tensor-file";

/** One single-file adapter planned onto a base: its patches per base tensor, what it leaves out, counts. */
export interface FilePatchPlan {
  /** `[base tensor, step]` in file order. */
  readonly steps: readonly (readonly [string, LoaderPatchStep])[];
  readonly warnings: readonly MergeWarning[];
  /** Module keys with at least one applied patch. */
  readonly modules: number;
  /** Patched modules per kind: ComfyUI's patch kind through the key map (`lora`, `lokr`, `diff`); through prefixes the registered variant's `peft_type` (`LOKR`, `LORA`), else the loaders' kind (`diff`). */
  readonly kinds: Readonly<Record<string, number>>;
  /** Patched modules with DoRA magnitudes. */
  readonly dora: number;
  /** How keys were resolved: `key-map` (SD1.x / SDXL / Flux checkpoint names, as ComfyUI) or `prefixes`. */
  readonly resolution: "key-map" | "prefixes";
  /** File prefix → sub-model root used (`prefixes` resolution only). */
  readonly prefixes: Readonly<Record<string, string>>;
}

/** Options of {@link planFilePatches}. */
export interface PlanFilePatchesOptions {
  /** The adapter input, as messages name it. */
  readonly label: string;
  readonly strength: number;
  readonly registry: AdapterRegistry;
  /** File prefix → sub-model root, for bases the key map does not know. */
  readonly prefixes?: Readonly<Record<string, string>>;
}

function misfitError(label: string, tensor: string, error: LycorisFormatError): AdapterFilesError {
  return new AdapterFilesError("input", `${label}: ${error.message} (base tensor '${tensor}')`, {
    module: error.module,
    cause: error,
  });
}

/** The bias tensors of a module key (what a dropped bias target leaves out). */
const BIAS_SUFFIXES = [".diff_b", ".b_norm"];

function warningOf(label: string, e: KeyMapEntry): MergeWarning {
  const lost = new Set(e.unread);
  for (const t of e.targets) {
    if (t.applied && e.status === "placed") continue;
    const bias = (name: string) => BIAS_SUFFIXES.some((s) => name === e.moduleKey + s);
    for (const name of e.tensors)
      if (e.status !== "placed" || (t.part === "bias") === bias(name)) lost.add(name);
  }
  if (e.status !== "placed") for (const name of e.tensors) lost.add(name);
  return {
    adapter: label,
    moduleKey: e.moduleKey,
    status: e.status,
    message: e.message ?? `'${e.moduleKey}' is not applied`,
    tensors: e.tensors.filter((name) => lost.has(name)),
    closest: e.closest,
  };
}

/** The plan through ComfyUI's key map (SD1.x / SDXL / Flux checkpoints). */
function planByKeyMap(
  base: TensorFile,
  tensors: ReadonlyMap<string, Tensor<Float32Array>>,
  o: PlanFilePatchesOptions,
): FilePatchPlan {
  const map = mapAdapterKeys(base.header.tensors, tensors.keys(), { registry: o.registry });
  const placed = placeLoaderPatches(map, tensors, o.registry);
  const warnings = map.entries.filter((e) => e.message !== null).map((e) => warningOf(o.label, e));
  for (const { entry, error } of placed.unsupported) {
    warnings.push({ ...warningOf(o.label, entry), status: "not_supported", message: error.message });
  }
  const steps: [string, LoaderPatchStep][] = [];
  const patches = new Set<LoaderPatch>();
  for (const { tensor, patch, target } of placed.placements) {
    const misfit = checkLoaderPatchFits(patch, target, base.info(tensor)!.shape);
    if (misfit !== null) throw misfitError(o.label, tensor, misfit);
    steps.push([tensor, { source: "loader", adapter: o.label, patch, target, strength: o.strength }]);
    patches.add(patch);
  }
  const kinds: Record<string, number> = {};
  for (const p of patches) kinds[p.kind] = (kinds[p.kind] ?? 0) + 1;
  const dora = [...patches].filter(patchHasDora).length;
  return { steps, warnings, modules: patches.size, kinds, dora, resolution: "key-map", prefixes: {} };
}

/**
 * The plan for other models: module keys resolved through prefixes (or as module paths) against the
 * base's `<module>.weight` names, each read with ComfyUI's rules (lycoris-format's
 * `readPrefixedLoaderPatches`) and patching `<module>.weight` and, with `diff_b` / `b_norm`, `<module>.bias`.
 */
function planByPrefixes(
  base: TensorFile,
  tensors: ReadonlyMap<string, Tensor<Float32Array>>,
  o: PlanFilePatchesOptions,
): FilePatchPlan {
  const read = readPrefixedLoaderPatches(tensors, {
    moduleNames: baseModuleNames(base),
    registry: o.registry,
    ...(o.prefixes === undefined ? {} : { prefixes: o.prefixes }),
  });
  const steps: [string, LoaderPatchStep][] = [];
  const kinds: Record<string, number> = {};
  for (const m of read.modules) {
    for (const [tensor, target] of prefixedTargets(m)) {
      const info = base.info(tensor);
      if (info === undefined) {
        throw new AdapterFilesError(
          "input",
          `module '${m.moduleName}' (${m.patch.moduleKey}): ${base.path} has no tensor '${tensor}'`,
        );
      }
      const misfit = checkLoaderPatchFits(m.patch, target, info.shape);
      if (misfit !== null) throw new AdapterFilesError("input", `${misfit.message} (${m.patch.moduleKey})`);
      steps.push([
        tensor,
        { source: "loader", adapter: o.label, patch: m.patch, target, strength: o.strength },
      ]);
    }
    const kind = patchKindName(m.patch, o.registry);
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return {
    steps,
    warnings: [],
    modules: read.modules.length,
    kinds,
    dora: read.modules.filter((m) => patchHasDora(m.patch)).length,
    resolution: "prefixes",
    prefixes: read.prefixes,
  };
}

/**
 * Plans one single-file adapter (kohya, LyCORIS, diffusers, OneTrainer, ai-toolkit, PEFT names in
 * one file) onto a base file: through ComfyUI's key map when the base is an SD1.x / SDXL / Flux
 * checkpoint (fused rows, functions, ComfyUI's not-applied cases reported as warnings), else
 * through the file's prefixes against the base's `<module>.weight` names. Every patch is checked
 * against its target.
 *
 * @throws AdapterFilesError (a patch that does not fit its target), LycorisFormatError (unreadable modules).
 */
export function planFilePatches(
  base: TensorFile,
  tensors: ReadonlyMap<string, Tensor<Float32Array>>,
  o: PlanFilePatchesOptions,
): FilePatchPlan {
  return baseCheckpointFamily(base.header.tensors) === null
    ? planByPrefixes(base, tensors, o)
    : planByKeyMap(base, tensors, o);
}
