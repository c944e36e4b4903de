import type { Tensor } from "@lycoris-ts/kernels";
import {
  type AdapterKeyMap,
  baseCheckpointFamily,
  checkLoaderPatchFits,
  type KeyMapEntry,
  type LoaderPatch,
  LycorisFormatError,
  lycorisModulePatch,
  mapAdapterKeys,
  readLoaderPatch,
  readLycorisAdapter,
} from "@lycoris-ts/lycoris-format";
import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { AdapterFilesError } from "./adapter-files-error";
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
  /** Patched modules per kind: the variant's `peft_type` (`LOKR`), or the loaders' own `lora` / `diff`. */
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

function kindLabel(patch: LoaderPatch): string {
  return patch.weight?.form === "variant" ? patch.weight.module.algo : patch.kind;
}

function hasDora(patch: LoaderPatch): boolean {
  const w = patch.weight;
  if (w === null || w.form === "diff") return false;
  return (w.form === "lora" ? w.doraScale : w.module.doraScale) !== null;
}

function misfitError(label: string, tensor: string, error: LycorisFormatError): AdapterFilesError {
  return new AdapterFilesError("input", `${label}: ${error.message} (base tensor '${tensor}')`, {
    module: error.module,
    cause: error,
  });
}

function warningOf(label: string, e: KeyMapEntry): MergeWarning {
  const notApplied = e.targets.some((t) => !t.applied) || e.status !== "placed";
  return {
    adapter: label,
    moduleKey: e.moduleKey,
    status: e.status,
    message: e.message ?? `'${e.moduleKey}' is not applied`,
    tensors: notApplied ? e.tensors : e.unread,
    closest: e.closest,
  };
}

/** The plan through ComfyUI's key map (SD1.x / SDXL / Flux checkpoints). */
function planByKeyMap(
  base: TensorFile,
  tensors: ReadonlyMap<string, Tensor<Float32Array>>,
  o: PlanFilePatchesOptions,
): FilePatchPlan {
  const map: AdapterKeyMap = mapAdapterKeys(base.header.tensors, tensors.keys(), { registry: o.registry });
  const steps: [string, LoaderPatchStep][] = [];
  const warnings: MergeWarning[] = [];
  const kinds: Record<string, number> = {};
  let dora = 0;
  let modules = 0;
  for (const entry of map.entries) {
    if (entry.message !== null) warnings.push(warningOf(o.label, entry));
    if (entry.status !== "placed") continue;
    let patch: LoaderPatch;
    try {
      patch = readLoaderPatch(entry, tensors, o.registry);
    } catch (error) {
      if (!(error instanceof LycorisFormatError && error.kind === "not_supported")) throw error;
      warnings.push({ ...warningOf(o.label, entry), status: "not_supported", message: error.message });
      continue;
    }
    for (const target of entry.targets) {
      if (!target.applied || target.tensor === null) continue;
      const info = base.info(target.tensor)!;
      const misfit = checkLoaderPatchFits(patch, target, info.shape);
      if (misfit !== null) throw misfitError(o.label, target.tensor, misfit);
      steps.push([
        target.tensor,
        { source: "loader", adapter: o.label, patch, target, strength: o.strength },
      ]);
    }
    modules++;
    kinds[kindLabel(patch)] = (kinds[kindLabel(patch)] ?? 0) + 1;
    if (hasDora(patch)) dora++;
  }
  return { steps, warnings, modules, kinds, dora, resolution: "key-map", prefixes: {} };
}

/** The plan for other models: keys resolved through prefixes against `<module>.weight` (lycoris-format's reader). */
function planByPrefixes(
  base: TensorFile,
  tensors: ReadonlyMap<string, Tensor<Float32Array>>,
  o: PlanFilePatchesOptions,
): FilePatchPlan {
  const adapter = readLycorisAdapter(tensors, {
    moduleNames: baseModuleNames(base),
    registry: o.registry,
    ...(o.prefixes === undefined ? {} : { prefixes: o.prefixes }),
  });
  const steps: [string, LoaderPatchStep][] = [];
  const kinds: Record<string, number> = {};
  for (const m of adapter.modules) {
    const weightName = `${m.moduleName}.weight`;
    const info = base.info(weightName);
    if (info === undefined) {
      throw new AdapterFilesError(
        "input",
        `module '${m.moduleName}' (${m.fileKey}): ${base.path} has no tensor '${weightName}'`,
      );
    }
    const patch = lycorisModulePatch(m);
    const target = { part: "weight", slice: null, function: null } as const;
    const misfit = checkLoaderPatchFits(patch, target, info.shape);
    if (misfit !== null) throw new AdapterFilesError("input", `${misfit.message} (${m.fileKey})`);
    steps.push([weightName, { source: "loader", adapter: o.label, patch, target, strength: o.strength }]);
    kinds[m.algo] = (kinds[m.algo] ?? 0) + 1;
  }
  return {
    steps,
    warnings: [],
    modules: adapter.modules.length,
    kinds,
    dora: adapter.modules.filter((m) => m.doraScale !== null).length,
    resolution: "prefixes",
    prefixes: adapter.prefixes,
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
