import { LycorisError } from "@lycoris-ts/errors";
/** What is wrong with a kohya / LyCORIS-format adapter file; stable, for programs to branch on. */
export type LycorisFormatErrorKind =
  /** A tensor name that is neither a LoKr / LoHa factor, `alpha` nor `dora_scale`. */
  | "unknown_key"
  /** A key whose module part names no module of the model. */
  | "unmatched_key"
  /** A key whose module part names two or more modules of the model. */
  | "ambiguous_key"
  /** A module lacks a tensor its structure needs (e.g. the second factor of a low-rank pair). */
  | "missing_tensor"
  /** Factor shapes that do not fit each other or the base weight. */
  | "shape_mismatch"
  /** A module with both `lokr_*` and `hada_*` tensors, or a file without adapter tensors. */
  | "invalid_module"
  /** A module kind the loaders read that lycoris-ts does not merge (GLoRA, OFT / BOFT, `set_weight`, `reshape_weight`), or a slice along another axis than the rows. */
  | "not_supported"
  /** The adapter cannot be expressed in the other format (to PEFT: DoRA, mixed algorithms, factor splits; to LyCORIS: modules_to_save copies and other non-factor tensors). */
  | "not_convertible";

/**
 * A typed error about a kohya / LyCORIS-format adapter. `module` is the module path (or file key
 * when it could not be resolved); the message is one line naming the module and, for shape
 * problems, both shapes.
 */
export class LycorisFormatError extends LycorisError {
  override readonly name = "LycorisFormatError";
  /** Stable classification of the problem. */
  override readonly kind: LycorisFormatErrorKind;
  /** The module (path, or file key when unresolved) at fault; `""` for whole-file problems. */
  override readonly module: string;

  constructor(kind: LycorisFormatErrorKind, module: string, message: string) {
    super(kind, message, { module });
    this.kind = kind;
    this.module = module;
  }
}
