import { LycorisError } from "@lycoris-ts/errors";
/** What went wrong with a PEFT adapter directory; stable, for programs to branch on. */
export type AdapterFileErrorKind =
  | "missing_dir"
  | "not_a_directory"
  | "not_adapter_dir"
  | "missing_weights"
  | "invalid_json"
  | "invalid_config"
  | "invalid_weights"
  | "missing_adapter"
  | "invalid_name"
  | "io";

/**
 * Error reading or writing a PEFT adapter directory. `path` is the file or directory at fault;
 * the message is one line a user can act on (e.g. `/x/adapter: not a PEFT adapter directory:
 * missing adapter_config.json`). A malformed weights file keeps the `SafetensorsError` as `cause`.
 */
export class AdapterFileError extends LycorisError {
  override readonly name = "AdapterFileError";
  /** Stable classification of the problem. */
  override readonly kind: AdapterFileErrorKind;
  /** The file or directory at fault. */
  override readonly path: string;

  constructor(kind: AdapterFileErrorKind, path: string, detail: string, options?: { cause?: unknown }) {
    super(kind, `${path}: ${detail}`, { path, cause: options?.cause });
    this.kind = kind;
    this.path = path;
  }
}
