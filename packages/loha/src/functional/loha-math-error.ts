import { LycorisError } from "@lycoris-ts/errors";
/** Details of a {@link LoHaMathError}. */
export interface LoHaMathErrorDetails {
  /** The offending argument, parameter name or option. */
  readonly field?: string;
  /** What was expected there (for example a shape such as `[16, 12]`). */
  readonly expected?: string;
  /** What was received instead. */
  readonly received?: string;
}

/**
 * Thrown by the functional LoHa math when an argument does not fit (wrong shape, missing
 * parameter, invalid rank). Carries the offending field and what was expected.
 */
export class LoHaMathError extends LycorisError {
  override readonly name = "LoHaMathError";
  /** The offending argument, parameter name or option (`null` when none applies). */
  override readonly field: string | null;
  /** What was expected (`null` when not applicable). */
  override readonly expected: string | null;
  /** What was received (`null` when not applicable). */
  override readonly received: string | null;

  constructor(message: string, details: LoHaMathErrorDetails = {}) {
    super("invalid_input", message, details);
    this.field = details.field ?? null;
    this.expected = details.expected ?? null;
    this.received = details.received ?? null;
  }
}
