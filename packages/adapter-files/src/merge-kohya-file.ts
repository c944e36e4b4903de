import { checkLycorisModuleFits, type LycorisModule, mergeLycorisModule } from "@lycoris-ts/lycoris-format";
import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { AdapterFilesError } from "./adapter-files-error";
import { checkOutputPath } from "./check-output-path";
import type { FileInput, FileOutput } from "./file-input";
import { readKohyaFile } from "./kohya-file";
import { checkBaseModel, openBaseModel } from "./open-base-model";
import { checkFloatBase } from "./plan-merge";
import { type MergedOutputOptions, planMergedLayout, writesOneFile } from "./plan-merged-layout";
import { findIndexFile } from "./sharded-tensor-file";
import type { TensorFile } from "./tensor-file";
import { type MergedCopyOptions, writeMergedCopy } from "./write-merged-copy";

/** Options of {@link mergeKohyaFile}. */
export interface MergeKohyaFileOptions extends MergedCopyOptions, MergedOutputOptions {
  /**
   * The base model's safetensors file (tensor names = the model's state-dict names), or a sharded
   * one's `*.safetensors.index.json` (or its directory).
   */
  readonly base: FileInput;
  /** The kohya / LyCORIS-format adapter file. */
  readonly adapter: FileInput;
  /** Where to write the merged model (a path is written atomically and never over an input). */
  readonly out: FileOutput;
  /** The strength `m` (LoRA weight): `W0 + m·scale·raw`, DoRA `W0 + m·(W' − W0)` (default 1). */
  readonly scale?: number;
  /** File prefix → sub-model root in the base file (defaults: lycoris-format's table, else found from the keys). */
  readonly prefixes?: Readonly<Record<string, string>>;
  readonly registry: AdapterRegistry;
}

/** What a kohya / LyCORIS merge did. */
export interface MergeKohyaFileSummary {
  readonly tensors: number;
  readonly mergedModules: number;
  /** Modules per algorithm (`peft_type`), DoRA modules counted separately. */
  readonly algos: Readonly<Record<string, number>>;
  readonly dora: number;
  /** Prefix → sub-model root used. */
  readonly prefixes: Readonly<Record<string, string>>;
}

/** Base tensor name → the module merged into it, every module checked against its base weight. */
function planKohyaMerge(base: TensorFile, modules: readonly LycorisModule[]): Map<string, LycorisModule> {
  const plan = new Map<string, LycorisModule>();
  for (const m of modules) {
    const weightName = `${m.moduleName}.weight`;
    const info = base.info(weightName);
    if (info === undefined) {
      throw new AdapterFilesError(
        "input",
        `module '${m.moduleName}' (${m.fileKey}): ${base.path} has no tensor '${weightName}'`,
      );
    }
    const misfit = checkLycorisModuleFits(m, info.shape);
    if (misfit !== null) throw new AdapterFilesError("input", `${misfit.message} (${m.fileKey})`);
    plan.set(weightName, m);
  }
  return plan;
}

/**
 * Merges a kohya / LyCORIS-format file into a base model file with the kohya loaders' (ComfyUI's)
 * rules, streaming the base one tensor at a time: every adapted `<module>.weight` becomes
 * `W0 + delta(m)`, every other tensor is copied (same names, dtypes and metadata). Everything is
 * checked before the output is created; the output appears only complete.
 *
 * @throws AdapterFilesError, LycorisFormatError (unknown keys, modules not in the base, misfit shapes), SafetensorsError.
 */
export async function mergeKohyaFile(o: MergeKohyaFileOptions): Promise<MergeKohyaFileSummary> {
  const strength = o.scale ?? 1;
  await checkBaseModel(o.base);
  const sharded = typeof o.base === "string" && (await findIndexFile(o.base)) !== null;
  if (writesOneFile(sharded, o)) await checkOutputPath(o.out, [o.base, o.adapter], []);
  const base = await openBaseModel(o.base);
  try {
    checkFloatBase(base);
    const adapter = await readKohyaFile(o.adapter, base, o.registry, o.prefixes);
    const plan = planKohyaMerge(base, adapter.modules);
    const output = await planMergedLayout(base, o.out, o, { files: [o.adapter], dirs: [] });
    const tensors = await writeMergedCopy(
      base,
      output,
      async (info, loadWeight) => {
        const m = plan.get(info.name);
        return m === undefined ? null : mergeLycorisModule(m, await loadWeight(), strength);
      },
      o,
    );
    const algos: Record<string, number> = {};
    for (const m of adapter.modules) algos[m.algo] = (algos[m.algo] ?? 0) + 1;
    const dora = adapter.modules.filter((m) => m.doraScale !== null).length;
    return { tensors, mergedModules: plan.size, algos, dora, prefixes: adapter.prefixes };
  } finally {
    await base.close();
  }
}
