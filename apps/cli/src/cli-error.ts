import { LycorisError } from "@lycoris-ts/errors";
/** Stable classification of a {@link CliError}. */
export type CliErrorKind = "usage" | "input" | "refused" | "validation_failed" | "unsupported";

/**
 * An error the CLI reports as one `error: …` line: bad arguments, inputs that cannot be used,
 * refused operations (e.g. `--out` equal to the base) and failed validations.
 */
export class CliError extends LycorisError {
  override readonly name = "CliError";
  /** What kind of problem this is. */
  override readonly kind: CliErrorKind;
  /** The process exit code to use (2 for usage errors, else 1). */
  readonly exitCode: number;

  constructor(kind: CliErrorKind, message: string, options?: { cause?: unknown }) {
    super(kind, message, { cause: options?.cause });
    this.kind = kind;
    this.exitCode = kind === "usage" ? 2 : 1;
  }
}
