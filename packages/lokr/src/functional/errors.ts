import { LycorisError } from "@lycoris-ts/errors";

/**
 * What went wrong in a {@link LoKrError}; stable, for programs to branch on.
 *
 * - `invalid_argument`: a number or option is out of range (a rank, a dimension, a factor).
 * - `invalid_layer`: the layer shape is inconsistent (kernel dims, groups).
 * - `missing_parameter`: a LoKr parameter the structure needs is absent.
 * - `shape_mismatch`: a tensor's shape does not fit the layer or the other factors.
 */
export type LoKrErrorKind = "invalid_argument" | "invalid_layer" | "missing_parameter" | "shape_mismatch";

/** Where a {@link LoKrError} applies and what was expected there. */
export interface LoKrErrorDetails {
  /** The offending argument, parameter name or option. */
  readonly field: string;
  /** What was expected there (for example a shape such as `[16, 12]`). */
  readonly expected?: string;
  /** What was given instead. */
  readonly received?: string;
}

/**
 * The one error class of `@lycoris-ts/lokr`'s math: a layer shape, an option or a parameter set is
 * inconsistent. Carries a stable kind, the offending field, what was expected and what was given.
 */
export class LoKrError extends LycorisError {
  override readonly name = "LoKrError";
  override readonly kind: LoKrErrorKind;
  override readonly field: string;
  override readonly expected: string;
  override readonly received: string;

  constructor(kind: LoKrErrorKind, message: string, details: LoKrErrorDetails) {
    super(kind, message, details);
    this.kind = kind;
    this.field = details.field;
    this.expected = details.expected ?? "";
    this.received = details.received ?? "";
  }
}
