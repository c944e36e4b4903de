import { LycorisError, type LycorisErrorDetails } from "@lycoris-ts/errors";

/** What went wrong with adapter or model files; stable, for programs to branch on. */
export type AdapterFilesErrorKind =
  /** A file or directory that does not exist. */
  | "not_found"
  /** An input that cannot be used: not an adapter, unreadable, malformed, or not fitting the base model. */
  | "input"
  /** An output that would overwrite or sit inside an input. */
  | "refused"
  /** Something the files hold that the operation cannot handle (non-float base tensors, no PEFT form). */
  | "unsupported"
  /** A strict merge with adapter keys that are not placed or not applied (see `MergeWarning`); nothing was written. */
  | "unplaced"
  /** An adapter directory holding several adapters where one must be chosen by name. */
  | "choose_adapter"
  /** An option value the operation cannot take (an unknown format or adapter type, a bad factor). */
  | "invalid_option"
  /** The operation was aborted through its `AbortSignal`; nothing was written. */
  | "aborted";

/**
 * The error of `@lycoris-ts/adapter-files` for unusable inputs and refused outputs (a
 * `LycorisError`). The message is one line naming the file, module or tensor at fault and, for
 * shapes, what was expected and found; `path` is the file concerned, when there is one.
 */
export class AdapterFilesError extends LycorisError {
  override readonly name = "AdapterFilesError";
  /** Stable classification of the problem. */
  override readonly kind: AdapterFilesErrorKind;

  constructor(kind: AdapterFilesErrorKind, message: string, details: LycorisErrorDetails = {}) {
    super(kind, message, details);
    this.kind = kind;
  }
}
