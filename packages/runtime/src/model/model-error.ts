import { LycorisError } from "@lycoris-ts/errors";
/**
 * What went wrong in a {@link ModelError}; stable, for programs to branch on.
 *
 * - `missing_key` / `unexpected_key` / `shape_mismatch`: a state dict does not fit the model.
 * - `unknown_module_kind` / `invalid_description`: a model description cannot be built.
 * - `invalid_hyperparameter`: a module was constructed with values it cannot work with.
 * - `invalid_input`: a forward/backward input has the wrong shape or content.
 * - `no_cached_input`: `backward` was called without a preceding forward that kept its input.
 * - `not_found`: a dotted module path names no module.
 * - `not_supported`: the module cannot do this (for example `forward` on a container).
 */
export type ModelErrorKind =
  | "missing_key"
  | "unexpected_key"
  | "shape_mismatch"
  | "unknown_module_kind"
  | "invalid_description"
  | "invalid_hyperparameter"
  | "invalid_input"
  | "no_cached_input"
  | "not_found"
  | "not_supported";

/** Fields of a {@link ModelError} besides its message. */
export interface ModelErrorDetails {
  /** The offending key, module path or hyper-parameter name. */
  readonly field?: string;
  /** What was expected there, in words or as a shape such as `[16, 12, 3, 3]`. */
  readonly expected?: string;
  /** What was found instead. */
  readonly received?: string;
}

/** The one error class of the model tree: carries a stable kind, the field and what was expected. */
export class ModelError extends LycorisError {
  override readonly name = "ModelError";
  /** Stable classification of the failure. */
  override readonly kind: ModelErrorKind;
  /** The offending key, module path or hyper-parameter name (`null` when none applies). */
  override readonly field: string | null;
  /** What was expected (`null` when not applicable). */
  override readonly expected: string | null;
  /** What was found (`null` when not applicable). */
  override readonly received: string | null;

  constructor(kind: ModelErrorKind, message: string, details: ModelErrorDetails = {}) {
    super(kind, message, details);
    this.kind = kind;
    this.field = details.field ?? null;
    this.expected = details.expected ?? null;
    this.received = details.received ?? null;
  }
}
