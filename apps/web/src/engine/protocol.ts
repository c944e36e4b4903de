// The messages between the page and the engine worker. Everything here is structured-cloneable:
// Files and Blobs travel by reference (no bytes copied), results are plain data.
import type { InspectReport, MergeWarning, ValidateReport } from "@lycoris-ts/adapter-files";
import type { LoraLayerReport } from "@lycoris-ts/lora";
import type { AdapterKeyMap } from "@lycoris-ts/lycoris-format";
import type { LoraRank } from "@lycoris-ts/runtime";

/** An adapter as the user gave it: a PEFT directory's files (relative path → file) or one file. */
export type AdapterSource =
  | { readonly kind: "directory"; readonly files: ReadonlyArray<readonly [string, File]> }
  | { readonly kind: "file"; readonly file: File };

/** A base model: one `.safetensors` file, or a sharded checkpoint's `*.safetensors.index.json` and shards. */
export interface BaseSource {
  readonly files: readonly File[];
}

/** ‖ΔW‖_F of one module, or why it could not be computed. */
export interface ModuleNorm {
  readonly index: number;
  readonly module: string;
  readonly norm: number | null;
  readonly reason: string | null;
}

/** The singular values of one module's ΔW (largest first). */
export interface Spectrum {
  readonly module: string;
  readonly rows: number;
  readonly cols: number;
  readonly singularValues: readonly number[];
}

/** One adapter key that does not reach the base, with the base names it may have meant. */
export interface UnplacedKey {
  readonly key: string;
  readonly message: string;
  readonly closest: readonly string[];
}

/** What the check against a base found. */
export interface BaseCheck {
  /**
   * The file engine's validation (every module against its base weight: missing, shape mismatches);
   * `null` for a bare PEFT-named .safetensors file (validation reads the config of a PEFT folder), and
   * for a single file on an SD1.x / SDXL / Flux checkpoint (placed by the key map; patch shapes are
   * checked when merging).
   */
  readonly validation: ValidateReport | null;
  /** Adapter keys no base module takes (key map: no checkpoint tensor), with the closest base module names. */
  readonly unplaced: readonly UnplacedKey[];
  /** ComfyUI's key map where the base is an SD1.x / SDXL / Flux checkpoint, else `null`. */
  readonly keyMap: AdapterKeyMap | null;
  /** Why there is no key map (the checkpoint's family is not one the key map knows). */
  readonly keyMapNote: string | null;
}

/** One adapter of a merge (the opened one or another) and its strength. */
export interface MergeInput {
  readonly adapter: AdapterSource;
  readonly strength: number;
}

/**
 * The result of `merge`: a summary line, how many adapter keys were not applied (each was sent as a
 * `partial` {@link MergeWarning} before anything was written), and the file to download when there
 * was no file to stream to.
 */
export interface MergeResult {
  readonly summary: string;
  readonly warnings: number;
  readonly file: OutputFile | null;
}

/** Requests, each with an id the answer repeats. */
export type EngineRequest =
  | { readonly id: number; readonly type: "environment" }
  | {
      readonly id: number;
      readonly type: "open";
      readonly adapter: AdapterSource;
      readonly base: BaseSource | null;
    }
  | { readonly id: number; readonly type: "norms" }
  | { readonly id: number; readonly type: "spectrum"; readonly module: number }
  | { readonly id: number; readonly type: "check" }
  | {
      readonly id: number;
      readonly type: "convert";
      readonly to: "kohya" | "peft";
      readonly prefix: string;
      readonly moduleRoot: string;
    }
  | {
      readonly id: number;
      readonly type: "to-lora";
      readonly rank: LoraRank;
      readonly peftCompatible: boolean;
    }
  | {
      readonly id: number;
      readonly type: "merge";
      /** Merged in this order, each patch on the result of the previous ones. */
      readonly adapters: readonly MergeInput[];
      /** Refuse the merge (nothing written) when any adapter key is not placed or not applied. */
      readonly strict: boolean;
      readonly out: WritableStream<Uint8Array> | null;
    }
  | { readonly id: number; readonly type: "abort"; readonly target: number };

export type { MergeWarning };

/** What the engine found about this browser. */
export interface Environment {
  readonly backend: string;
  readonly wasmSimd: boolean;
  readonly gpu: string;
}

/** A file the engine produced for the user to save. */
export interface OutputFile {
  readonly name: string;
  readonly blob: Blob;
}

/** Answers: a result, an error, or progress / partial results of a running request. */
export type EngineResponse =
  | { readonly id: number; readonly type: "result"; readonly value: unknown }
  | {
      readonly id: number;
      readonly type: "error";
      readonly message: string;
      /** The error's class (`AdapterFilesError`, …) and its `kind` (`aborted`, `input`, …). */
      readonly errorClass: string;
      readonly kind: string;
    }
  | {
      readonly id: number;
      readonly type: "progress";
      readonly done: number;
      readonly total: number;
      readonly item: string;
    }
  | { readonly id: number; readonly type: "partial"; readonly value: unknown };

/** The result of `open`. */
export interface Opened {
  readonly report: InspectReport;
  /** What was opened, in words (the file's name, or the folder's files). */
  readonly label: string;
  readonly baseName: string | null;
  /** A note about the base (a sharded checkpoint's shards; why the files picked are no base), or `null`. */
  readonly baseNote: string | null;
  /** `"peft"` for a PEFT adapter (directory or file), `"kohya"` for a kohya / LyCORIS file. */
  readonly naming: "peft" | "kohya";
}

/** The result of `convert` and `to-lora`. */
export interface Converted {
  readonly files: readonly OutputFile[];
  readonly summary: string;
  /** `to-lora`: how each layer was truncated. */
  readonly layers?: readonly LoraLayerReport[];
}
