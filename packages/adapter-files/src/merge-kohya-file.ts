import type { AdapterRegistry } from "@lycoris-ts/runtime";
import type { BaseInput, FileInput, FileOutput } from "./file-input";
import { mergeIntoBase } from "./merge-into-base";
import type { MergeWarning } from "./merge-warning";
import type { MergedOutputOptions } from "./plan-merged-layout";
import type { MergedCopyOptions } from "./write-merged-copy";

/** Options of {@link mergeKohyaFile}. */
export interface MergeKohyaFileOptions extends MergedCopyOptions, MergedOutputOptions {
  /**
   * The base model's safetensors file (tensor names = the model's state-dict names, or an SD1.x /
   * SDXL / Flux checkpoint), or a sharded one's `*.safetensors.index.json` (or its directory).
   */
  readonly base: BaseInput;
  /** The kohya / LyCORIS-format adapter file (or any single-file layout the key map reads). */
  readonly adapter: FileInput;
  /** Where to write the merged model (a path is written atomically and never over an input). */
  readonly out: FileOutput;
  /** The strength `m` (LoRA weight): `W0 + m·scale·raw`, DoRA `W0 + m·(W' − W0)` (default 1). */
  readonly scale?: number;
  /** File prefix → sub-model root in the base file (defaults: lycoris-format's table, else found from the keys). */
  readonly prefixes?: Readonly<Record<string, string>>;
  readonly registry: AdapterRegistry;
  /** Refuse adapter keys that are not placed or not applied (see {@link mergeIntoBase}). */
  readonly strict?: boolean;
  /** Called for every adapter key that is not placed or not applied. */
  readonly onWarning?: (warning: MergeWarning) => void;
}

/** What a kohya / LyCORIS merge did. */
export interface MergeKohyaFileSummary {
  readonly tensors: number;
  /** Modules patched. */
  readonly mergedModules: number;
  /** Modules per kind (the variant's `peft_type`, or the loaders' own `lora` / `diff`); DoRA modules counted separately. */
  readonly algos: Readonly<Record<string, number>>;
  readonly dora: number;
  /** Prefix → sub-model root used (keys resolved by prefixes; `{}` through the key map). */
  readonly prefixes: Readonly<Record<string, string>>;
  /** Adapter keys not placed or not applied. */
  readonly warnings: readonly MergeWarning[];
}

/**
 * Merges one single-file adapter (kohya / LyCORIS and the other layouts the key map reads) into a
 * base model file with the kohya loaders' (ComfyUI's) rules, streaming the base one tensor at a
 * time: {@link mergeIntoBase} with this one adapter at strength `scale`.
 *
 * @throws AdapterFilesError, LycorisFormatError (unknown keys, modules not in the base, misfit shapes), SafetensorsError.
 */
export async function mergeKohyaFile(o: MergeKohyaFileOptions): Promise<MergeKohyaFileSummary> {
  const { adapter, scale, prefixes, ...rest } = o;
  const s = await mergeIntoBase({
    ...rest,
    adapters: [{ input: adapter, strength: scale ?? 1, ...(prefixes === undefined ? {} : { prefixes }) }],
  });
  const a = s.adapters[0]!;
  return {
    tensors: s.tensors,
    mergedModules: a.modules,
    algos: a.kinds,
    dora: a.dora,
    prefixes: a.prefixes,
    warnings: s.warnings,
  };
}
