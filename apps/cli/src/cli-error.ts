import { LycorisError } from "@lycoris-ts/errors";

/** Stable classification of a {@link CliError}. */
export type CliErrorKind = "usage" | "input" | "validation_failed" | "interrupted";

const EXIT_CODES: Readonly<Record<CliErrorKind, number>> = {
  usage: 2,
  input: 1,
  validation_failed: 1,
  interrupted: 130,
};

/** An error the CLI reports as one `error: …` line: bad arguments, failed validations, interruptions. */
export class CliError extends LycorisError {
  override readonly name = "CliError";
  /** What kind of problem this is. */
  override readonly kind: CliErrorKind;
  /** The process exit code to use (2 for usage errors, 128 + the signal's number when interrupted, else 1). */
  readonly exitCode: number;

  constructor(kind: CliErrorKind, message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(kind, message, { cause: options?.cause });
    this.kind = kind;
    this.exitCode = options?.exitCode ?? EXIT_CODES[kind];
  }
}
