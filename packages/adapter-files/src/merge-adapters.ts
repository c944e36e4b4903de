import { ScratchPool } from "@lycoris-ts/kernels";
import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { AdapterFilesError } from "./adapter-files-error";
import { checkOutputPath } from "./check-output-path";
import {
  type AdapterInput,
  type BaseInput,
  baseInputFiles,
  type FileInput,
  type FileOutput,
  isShardedFiles,
} from "./file-input";
import { type AdapterLocation, locateAdapters, selectAdapters } from "./locate-adapters";
import { closeAdapters, openAdapters } from "./open-adapter";
import { checkBaseModel, openBaseModel } from "./open-base-model";
import { applyModuleUpdate, largestTensor } from "./patch-plan";
import { planMerge } from "./plan-merge";
import { type MergedOutputOptions, planMergedLayout, writesOneFile } from "./plan-merged-layout";
import { findIndexFile } from "./sharded-tensor-file";
import type { TensorFile } from "./tensor-file";
import { type MergedCopyOptions, writeMergedCopy } from "./write-merged-copy";

/** Options of {@link mergeAdapters}. */
export interface MergeOptions extends MergedCopyOptions, MergedOutputOptions {
  /** The base model: a safetensors file, or a sharded one's `*.safetensors.index.json` (or its directory). */
  readonly base: BaseInput;
  /** A PEFT adapter directory (path or files). */
  readonly adapter: AdapterInput;
  /**
   * Where to write the merged model (a path is written atomically and never over an input): a file,
   * or for a sharded output a directory (or its `*.safetensors.index.json` path).
   */
  readonly out: FileOutput;
  /** Multiplier of every ΔW (default 1): W' = W + scale · ΔW. */
  readonly scale?: number;
  /** Adapters to merge, in order (their updates add up); default: `"default"`, or the only adapter. */
  readonly adapterNames?: readonly string[];
  readonly registry: AdapterRegistry;
}

/** What a merge did. */
export interface MergeSummary {
  readonly adapters: readonly string[];
  readonly tensors: number;
  readonly mergedModules: number;
  readonly replacedTensors: number;
}

function defaultAdapterNames(available: readonly string[]): string[] {
  if (available.includes("default")) return ["default"];
  if (available.length === 1) return [available[0]!];
  throw new AdapterFilesError(
    "choose_adapter",
    `the adapter directory holds several adapters (${available.join(", ")}): choose which to merge by name`,
  );
}

/** The PEFT adapters of a directory to merge, and the input files and directories the output must not touch. */
export interface SelectedPeftAdapters {
  readonly names: readonly string[];
  readonly selected: AdapterLocation[];
  readonly inputFiles: readonly FileInput[];
  readonly inputDirs: readonly AdapterInput[];
}

/** The adapters of PEFT directory `input` to merge: `adapterNames`, or `"default"` / the only one. */
export async function selectPeftAdapters(
  input: AdapterInput,
  adapterNames: readonly string[] | undefined,
): Promise<SelectedPeftAdapters> {
  const located = await locateAdapters(input, { allowFile: false });
  const names =
    adapterNames !== undefined && adapterNames.length > 0
      ? adapterNames
      : defaultAdapterNames(located.adapters.map((a) => a.name));
  const selected = selectAdapters(located, names);
  const dirs = selected.map((a) => a.dir).filter((d): d is string => d !== null && d !== input);
  return { names, selected, inputFiles: selected.map((a) => a.weights), inputDirs: [input, ...dirs] };
}

/** Whether `base` is a path to a sharded model (an index file, or a directory holding one). */
export async function isShardedBasePath(base: BaseInput): Promise<boolean> {
  if (isShardedFiles(base)) return true;
  return typeof base === "string" && (await findIndexFile(base)) !== null;
}

/** The adapters to merge, with the output checked against them (paths only; a sharded output is checked when planned). */
async function selectForMerge(o: MergeOptions): Promise<SelectedPeftAdapters> {
  const s = await selectPeftAdapters(o.adapter, o.adapterNames);
  if (writesOneFile(await isShardedBasePath(o.base), o)) {
    await checkOutputPath(o.out, [...baseInputFiles(o.base), ...s.inputFiles], s.inputDirs);
  }
  return s;
}

/**
 * Merges PEFT adapters into a base model file, module by module: W' = W + scale · ΔW for every
 * adapted weight (ΔW from the adapter's factors and the base weight's shape), full copies for
 * `modules_to_save`, every other tensor copied. Reads the base and the adapters lazily and streams
 * the output, so memory stays at a few tensors. Everything is checked before the output is
 * created; the output appears only complete, never partially.
 *
 * @throws AdapterFilesError (refused output, shape mismatch, missing module, …), SafetensorsError, AdapterError.
 */
export async function mergeAdapters(o: MergeOptions): Promise<MergeSummary> {
  const scale = o.scale ?? 1;
  await checkBaseModel(o.base);
  const { names, selected, inputFiles, inputDirs } = await selectForMerge(o);
  const adapters = await openAdapters(selected, o.registry);
  let base: TensorFile | undefined;
  try {
    base = await openBaseModel(o.base);
    const plan = planMerge(base, adapters);
    const file = base;
    const output = await planMergedLayout(file, o.out, o, { files: inputFiles, dirs: inputDirs });
    // one ΔW buffer for the whole merge, sized to the largest patched tensor
    const scratch = new ScratchPool().reserve(largestTensor(file, plan.updates.keys()));
    const tensors = await writeMergedCopy(
      file,
      output,
      async (info, loadWeight) => {
        const updates = plan.updates.get(info.name);
        if (updates !== undefined) {
          const weight = await loadWeight(); // engine-owned scratch, patched in place
          for (const u of updates) await applyModuleUpdate(weight, u, scale, scratch);
          return weight;
        }
        const replacement = plan.replacements.get(info.name);
        return replacement === undefined ? null : replacement.adapter.reader.read(replacement.tensor);
      },
      o,
    );
    return {
      adapters: names,
      tensors,
      mergedModules: plan.updates.size,
      replacedTensors: plan.replacements.size,
    };
  } finally {
    await base?.close();
    await closeAdapters(adapters);
  }
}
