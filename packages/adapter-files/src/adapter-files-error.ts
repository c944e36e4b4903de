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
  /** An adapter directory holding several adapters where one must be chosen by name. */
  | "choose_adapter"
  /** The operation was aborted through its `AbortSignal`; nothing was written. */
  | "aborted";

/**
 * The error of `@lycoris-ts/adapter-files` for unusable inputs and refused outputs. The message is
 * one line naming the file, module or tensor at fault and, for shapes, what was expected and found.
 */
export class AdapterFilesError extends Error {
  override readonly name = "AdapterFilesError";
  /** Stable classification of the problem. */
  readonly kind: AdapterFilesErrorKind;
  /** The file or directory concerned, when there is one (a path, or a File's name). */
  readonly path: string;

  constructor(
    kind: AdapterFilesErrorKind,
    message: string,
    options: { path?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.path = options.path ?? "";
  }
}
