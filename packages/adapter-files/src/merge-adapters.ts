import type { Tensor } from "@lycoris-ts/kernels";
import { type AdapterRegistry, mergeIntoWeight } from "@lycoris-ts/runtime";
import { AdapterFilesError } from "./adapter-files-error";
import { checkOutputPath } from "./check-output-path";
import type { AdapterInput, FileInput, FileOutput } from "./file-input";
import { type AdapterLocation, locateAdapters, selectAdapters } from "./locate-adapters";
import { closeAdapters, openAdapters } from "./open-adapter";
import { checkBaseModel, openBaseModel } from "./open-base-model";
import { type ModuleUpdate, planMerge } from "./plan-merge";
import { type MergedOutputOptions, planMergedLayout, writesOneFile } from "./plan-merged-layout";
import { findIndexFile } from "./sharded-tensor-file";
import type { TensorFile } from "./tensor-file";
import { type MergedCopyOptions, writeMergedCopy } from "./write-merged-copy";

/** Options of {@link mergeAdapters}. */
export interface MergeOptions extends MergedCopyOptions, MergedOutputOptions {
  /** The base model: a safetensors file, or a sharded one's `*.safetensors.index.json` (or its directory). */
  readonly base: FileInput;
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

/** `weight += scale · scaling · ΔW` for one adapter module (runtime's `mergeIntoWeight`). */
async function applyUpdate(weight: Tensor<Float32Array>, u: ModuleUpdate, scale: number): Promise<void> {
  const params: Record<string, Tensor<Float32Array>> = {};
  for (const [param, tensor] of u.params) params[param] = await u.adapter.reader.read(tensor);
  mergeIntoWeight(u.variant, weight, params, u.ctx, u.scaling * scale);
}

function defaultAdapterNames(available: readonly string[]): string[] {
  if (available.includes("default")) return ["default"];
  if (available.length === 1) return [available[0]!];
  throw new AdapterFilesError(
    "choose_adapter",
    `the adapter directory holds several adapters (${available.join(", ")}): choose which to merge by name`,
  );
}

/** The adapters to merge, with the output checked against them (paths only). */
async function selectForMerge(
  o: MergeOptions,
): Promise<{ names: readonly string[]; selected: AdapterLocation[]; dirs: string[] }> {
  const located = await locateAdapters(o.adapter, { allowFile: false });
  const names =
    o.adapterNames !== undefined && o.adapterNames.length > 0
      ? o.adapterNames
      : defaultAdapterNames(located.adapters.map((a) => a.name));
  const selected = selectAdapters(located, names);
  const dirs = selected.map((a) => a.dir).filter((d): d is string => d !== null && d !== o.adapter);
  const sharded = typeof o.base === "string" && (await findIndexFile(o.base)) !== null;
  if (writesOneFile(sharded, o)) {
    await checkOutputPath(o.out, [o.base, ...selected.map((a) => a.weights)], [o.adapter, ...dirs]);
  }
  return { names, selected, dirs };
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
  const { names, selected, dirs } = await selectForMerge(o);
  const adapters = await openAdapters(selected, o.registry);
  let base: TensorFile | undefined;
  try {
    base = await openBaseModel(o.base);
    const plan = planMerge(base, adapters);
    const file = base;
    const output = await planMergedLayout(file, o.out, o, {
      files: selected.map((a) => a.weights),
      dirs: [o.adapter, ...dirs],
    });
    const tensors = await writeMergedCopy(
      file,
      output,
      async (info, loadWeight) => {
        const updates = plan.updates.get(info.name);
        if (updates !== undefined) {
          const weight = await loadWeight(); // engine-owned scratch, patched in place
          for (const u of updates) await applyUpdate(weight, u, scale);
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
