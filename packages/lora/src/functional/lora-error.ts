import { LycorisError } from "@lycoris-ts/errors";

/**
 * What went wrong in the LoRA math, as a stable classification. The first four are the `error_kind`
 * values of PEFT's LoRA conformance fixtures (`errors.json`); `invalid_params` is ours. The `conversion_*` kinds
 * are `convertToLora`'s refusals: `conversion_unsupported_layer` (PEFT's `TypeError` for layers it cannot
 * convert, with `peftCompatible`), `conversion_no_layer` (PEFT's `TypeError`: nothing to convert),
 * `conversion_missing_adapter` (where PEFT dies with an `AttributeError`: the adapter is unknown or absent from
 * some adapted layer).
 */
export type LoraErrorKind =
  | "rank_not_divisible_by_groups"
  | "unknown_init"
  | "conv_dilation_shape_mismatch"
  | "merge_not_supported_groups"
  | "invalid_params"
  | "conversion_unsupported_layer"
  | "conversion_no_layer"
  | "conversion_missing_adapter";

/** Details of a {@link LoraError}. */
export interface LoraErrorDetails {
  /** The offending argument, parameter or option. */
  readonly field: string;
  /** What was expected there. */
  readonly expected: string;
  /** What was given. */
  readonly received: string;
}

/**
 * The error class of `@lycoris-ts/lora`'s math and layers. Where PEFT raises for the same situation, the
 * message contains PEFT's own text.
 */
export class LoraError extends LycorisError {
  override readonly name = "LoraError";
  override readonly kind: LoraErrorKind;
  override readonly field: string;
  override readonly expected: string;
  override readonly received: string;

  constructor(kind: LoraErrorKind, message: string, details: LoraErrorDetails) {
    super(kind, message, details);
    this.kind = kind;
    this.field = details.field;
    this.expected = details.expected;
    this.received = details.received;
  }
}
