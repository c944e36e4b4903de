import { LycorisError, type LycorisErrorDetails } from "@lycoris-ts/errors";

/** What the page cannot do with what it was given. */
export type WebErrorKind =
  /** An operation that needs something not opened yet (an adapter, a base model). */
  | "missing_input"
  /** Something this page does not do here (a download too large to build in memory, a module without a spectrum). */
  | "unsupported";

/** The page's own error (a `LycorisError`); the libraries' errors pass through unchanged. */
export class WebError extends LycorisError {
  override readonly name = "WebError";
  override readonly kind: WebErrorKind;

  constructor(kind: WebErrorKind, message: string, details: LycorisErrorDetails = {}) {
    super(kind, message, details);
    this.kind = kind;
  }
}
