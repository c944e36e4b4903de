import { stat } from "node:fs/promises";
import { addScaledInPlace, type Tensor } from "@lycoris-ts/kernels";
import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { SafetensorsReader } from "@lycoris-ts/safetensors";
import { checkOutputPath } from "./check-output-path";
import { CliError } from "./cli-error";
import { locateAdapters, selectAdapters } from "./locate-adapters";
import { closeAdapters, openAdapters } from "./open-adapter";
import { type ModuleUpdate, planMerge } from "./plan-merge";
import { writeMergedCopy } from "./write-merged-copy";

/** Options of {@link mergeAdapters}. */
export interface MergeOptions {
  /** The base model's safetensors file. */
  readonly base: string;
  /** A PEFT adapter directory. */
  readonly adapter: string;
  /** The merged model's path (written atomically). */
  readonly out: string;
  /** Multiplier of every ΔW (default 1): W' = W + scale · ΔW. */
  readonly scale?: number;
  /** Adapters to merge, in order (their updates add up); default: `"default"`, or the only adapter. */
  readonly adapterNames?: readonly string[];
  /** Show a progress bar on stderr (default true). */
  readonly progress?: boolean;
  readonly registry: AdapterRegistry;
}

/** What a merge did. */
export interface MergeSummary {
  readonly out: string;
  readonly adapters: readonly string[];
  readonly tensors: number;
  readonly mergedModules: number;
  readonly replacedTensors: number;
}

async function applyUpdate(weight: Tensor<Float32Array>, u: ModuleUpdate, scale: number): Promise<void> {
  const params: Record<string, Tensor<Float32Array>> = {};
  for (const [param, tensor] of u.params) params[param] = await u.adapter.reader.read(tensor);
  if (u.variant.mergeInto !== undefined) u.variant.mergeInto(weight, params, u.ctx, u.scaling * scale);
  else addScaledInPlace(weight, u.variant.deltaWeight(params, u.ctx, u.scaling), scale);
}

function defaultAdapterNames(available: readonly string[]): string[] {
  if (available.includes("default")) return ["default"];
  if (available.length === 1) return [available[0]!];
  throw new CliError(
    "usage",
    `the adapter directory holds several adapters (${available.join(", ")}): choose with --adapter-name`,
  );
}

/**
 * Merges PEFT adapters into a base model file, module by module: W' = W + scale · ΔW for every
 * adapted weight (ΔW from the adapter's factors and the base weight's shape), full copies for
 * `modules_to_save`, every other tensor copied. Reads the base and the adapters lazily and streams
 * the output, so memory stays at a few tensors. Everything is checked before the output is
 * created; the output appears only complete (temporary file + rename), never partially.
 *
 * @throws CliError (refused output, shape mismatch, missing module, …), SafetensorsError, AdapterError.
 */
export async function mergeAdapters(o: MergeOptions): Promise<MergeSummary> {
  const scale = o.scale ?? 1;
  const baseStat = await stat(o.base).catch(() => null);
  if (baseStat === null) throw new CliError("input", `${o.base}: no such file (--base)`);
  if (!baseStat.isFile())
    throw new CliError("input", `${o.base}: not a file (--base expects a .safetensors file)`);
  const located = await locateAdapters(o.adapter, { allowFile: false });
  const names =
    o.adapterNames !== undefined && o.adapterNames.length > 0
      ? o.adapterNames
      : defaultAdapterNames(located.adapters.map((a) => a.name));
  const selected = selectAdapters(located, names);
  await checkOutputPath(
    o.out,
    [o.base, ...selected.map((a) => a.weightsPath)],
    [o.adapter, ...selected.map((a) => a.dir!).filter((d) => d !== o.adapter)],
  );

  const adapters = await openAdapters(selected, o.registry);
  let base: SafetensorsReader | undefined;
  try {
    base = await SafetensorsReader.open(o.base);
    const plan = planMerge(base, adapters);
    const tensors = await writeMergedCopy(base, o.out, o.progress ?? true, async (info) => {
      const updates = plan.updates.get(info.name);
      if (updates !== undefined) {
        const weight = await base!.read(info.name);
        for (const u of updates) await applyUpdate(weight, u, scale);
        return weight;
      }
      const replacement = plan.replacements.get(info.name);
      return replacement === undefined ? null : replacement.adapter.reader.read(replacement.tensor);
    });
    return {
      out: o.out,
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
