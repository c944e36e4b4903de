import { LycorisError, type LycorisErrorDetails } from "@lycoris-ts/errors";
/**
 * Thrown by the LoKr functional API when a layer shape, an option or a parameter set is inconsistent.
 * The message names the offending field and what was expected.
 */
export class LoKrError extends LycorisError {
  override readonly name = "LoKrError";

  constructor(message: string, details: LycorisErrorDetails & { kind?: string } = {}) {
    super(details.kind ?? "invalid_input", message, details);
  }
}
