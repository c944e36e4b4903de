import { describeValue, LycorisError } from "@lycoris-ts/errors";

/**
 * What went wrong, as a stable classification. Most are the `error_kind` values of PEFT's conformance
 * fixtures (`errors.json`); `invalid_value`, `invalid_regex`, `invalid_adapter_config`, `not_supported`
 * (a PEFT option this library does not implement, named in the message) and `unknown_option` are ours.
 */
export type LycorisErrorKind =
  | "layers_pattern_without_layers_to_transform"
  | "invalid_rank"
  | "no_target_match"
  | "unsupported_module_type"
  | "all_modules_excluded"
  | "no_modules_targeted"
  | "target_modules_required"
  | "invalid_task_type"
  | "mixed_peft_types"
  | "duplicate_adapter_name"
  | "layers_to_transform_with_regex_target"
  | "layers_pattern_with_regex_target"
  | "not_supported"
  | "invalid_value"
  | "invalid_regex"
  | "invalid_adapter_config"
  | "unknown_option";

/** Details carried by every {@link LycorisConfigError}. */
export interface LycorisConfigErrorDetails {
  /** The offending config field (camelCase), or the module / key concerned. */
  readonly field: string;
  /** What would have been accepted, in words. */
  readonly expected: string;
  /** The value that was given. */
  readonly received: unknown;
}

/**
 * The one error class of the config family. `message` is PEFT's own text wherever PEFT raises for the
 * same situation (so it can be compared with PEFT's fixtures); `kind`, `field`, `expected` and `received`
 * say the same thing in a machine-readable way.
 */
export class LycorisConfigError extends LycorisError {
  override readonly name = "LycorisConfigError";
  override readonly kind: LycorisErrorKind;
  override readonly field: string;
  override readonly expected: string;
  override readonly received: unknown;

  constructor(kind: LycorisErrorKind, message: string, details: LycorisConfigErrorDetails) {
    super(kind, message, details);
    this.kind = kind;
    this.field = details.field;
    this.expected = details.expected;
    this.received = details.received;
  }
}

/**
 * The `invalid_value` error of a config field ("Invalid value for `field`: expected …, got <value>."),
 * the value printed as itself ({@link describeValue}: `NaN`, `Infinity`, `8n`, `undefined`).
 */
export function invalidValueError(field: string, expected: string, received: unknown): LycorisConfigError {
  return new LycorisConfigError(
    "invalid_value",
    `Invalid value for \`${field}\`: expected ${expected}, got ${describeValue(received)}.`,
    { field, expected, received },
  );
}
