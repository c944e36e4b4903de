import { LycorisError } from "@lycoris-ts/errors";
/** Kinds of {@link AdapterError}. PEFT's own kinds keep PEFT's names. */
export type AdapterErrorKind =
  | "duplicate_variant"
  | "invalid_variant"
  | "unknown_peft_type"
  | "unknown_adapter"
  | "duplicate_adapter_name"
  | "mixed_peft_types"
  | "invalid_rank"
  | "unsupported_module_type"
  | "shape_mismatch"
  | "missing_parameter"
  | "unexpected_parameter"
  | "non_finite_merge"
  | "training_not_supported"
  | "invalid_argument"
  | "invalid_state";

/** A typed runtime error: which field/key, what was expected, what was found. */
export class AdapterError extends LycorisError {
  override readonly name = "AdapterError";
  override readonly kind: AdapterErrorKind;
  override readonly field: string;
  override readonly expected: string;
  override readonly received: string;

  constructor(
    kind: AdapterErrorKind,
    message: string,
    detail: { field: string; expected?: string; received?: string },
  ) {
    super(kind, message, detail);
    this.kind = kind;
    this.field = detail.field;
    this.expected = detail.expected ?? "";
    this.received = detail.received ?? "";
  }
}
