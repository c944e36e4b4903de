/**
 * Thrown by the LoKr functional API when a layer shape, an option or a parameter set is inconsistent.
 * The message names the offending field and what was expected.
 */
export class LoKrError extends Error {
  override readonly name = "LoKrError";
}
