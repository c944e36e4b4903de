import { stat } from "node:fs/promises";
import { checkLycorisModuleFits, type LycorisModule, mergeLycorisModule } from "@lycoris-ts/lycoris-format";
import { type AdapterRegistry, isFloatDtype, SafetensorsReader } from "@lycoris-ts/runtime";
import { checkOutputPath } from "./check-output-path";
import { CliError } from "./cli-error";
import { readLycorisFile } from "./lycoris-file";
import { writeMergedCopy } from "./write-merged-copy";

/** Options of {@link mergeLycoris}. */
export interface MergeLycorisOptions {
  /** The base model's safetensors file (tensor names = the model's state-dict names). */
  readonly base: string;
  /** The kohya / LyCORIS-format adapter file. */
  readonly adapter: string;
  /** The merged model's path (written atomically). */
  readonly out: string;
  /** The strength `m` (LoRA weight): `W0 + m·scale·raw`, DoRA `W0 + m·(W' − W0)` (default 1). */
  readonly scale?: number;
  /** File prefix → sub-model root in the base file (defaults: FORMAT's table, else found from the keys). */
  readonly prefixes?: Readonly<Record<string, string>>;
  /** Show a progress bar on stderr (default true). */
  readonly progress?: boolean;
  readonly registry: AdapterRegistry;
}

/** What a LyCORIS merge did. */
export interface MergeLycorisSummary {
  readonly out: string;
  readonly tensors: number;
  readonly mergedModules: number;
  /** Modules per algorithm (`peft_type`), DoRA modules counted separately. */
  readonly algos: Readonly<Record<string, number>>;
  readonly dora: number;
  /** Prefix → sub-model root used. */
  readonly prefixes: Readonly<Record<string, string>>;
}

/**
 * Merges a kohya / LyCORIS-format LoKr / LoHa file into a base model file with the kohya
 * loaders' (ComfyUI's) rules, streaming the base one tensor at a time: every adapted
 * `<module>.weight` becomes `W0 + delta(m)`, every other tensor is copied (same names, order,
 * dtypes and metadata). Everything is checked before the output is created; the output appears
 * only complete (temporary file + rename).
 *
 * @throws CliError, LycorisFormatError (unknown keys, modules not in the base, misfit shapes), SafetensorsError.
 */
export async function mergeLycoris(o: MergeLycorisOptions): Promise<MergeLycorisSummary> {
  const strength = o.scale ?? 1;
  const baseStat = await stat(o.base).catch(() => null);
  if (baseStat === null) throw new CliError("input", `${o.base}: no such file (--base)`);
  if (!baseStat.isFile())
    throw new CliError("input", `${o.base}: not a file (--base expects a .safetensors file)`);
  await checkOutputPath(o.out, [o.base, o.adapter], []);

  let base: SafetensorsReader | undefined;
  try {
    base = await SafetensorsReader.open(o.base);
    for (const info of base.header.tensors) {
      if (!isFloatDtype(info.dtype)) {
        throw new CliError(
          "unsupported",
          `${base.path}: tensor '${info.name}' has dtype ${info.dtype}; only float tensors (F32, F16, BF16, F64) can be copied`,
        );
      }
    }
    const adapter = await readLycorisFile(o.adapter, base, o.registry, o.prefixes);
    const plan = new Map<string, LycorisModule>();
    for (const m of adapter.modules) {
      const weightName = `${m.moduleName}.weight`;
      const info = base.info(weightName);
      if (info === undefined) {
        throw new CliError(
          "input",
          `module '${m.moduleName}' (${m.fileKey}): ${base.path} has no tensor '${weightName}'`,
        );
      }
      const misfit = checkLycorisModuleFits(m, info.shape);
      if (misfit !== null) throw new CliError("input", `${misfit.message} (${m.fileKey})`);
      plan.set(weightName, m);
    }
    const tensors = await writeMergedCopy(base, o.out, o.progress ?? true, async (info) => {
      const m = plan.get(info.name);
      if (m === undefined) return null;
      const merged = mergeLycorisModule(m, await base!.read(info.name), strength);
      for (const v of merged.data) {
        if (!Number.isFinite(v)) {
          throw new CliError("input", `module '${m.moduleName}': the merged weight has non-finite values`);
        }
      }
      return merged;
    });
    const algos: Record<string, number> = {};
    for (const m of adapter.modules) algos[m.algo] = (algos[m.algo] ?? 0) + 1;
    return {
      out: o.out,
      tensors,
      mergedModules: plan.size,
      algos,
      dora: adapter.modules.filter((m) => m.doraScale !== null).length,
      prefixes: adapter.prefixes,
    };
  } finally {
    await base?.close();
  }
}
