import { LycorisError } from "@lycoris-ts/errors";
/** What went wrong with a safetensors file; stable, for programs to branch on. */
export type SafetensorsErrorKind =
  | "header_too_large"
  | "truncated"
  | "invalid_json"
  | "invalid_header"
  | "unknown_dtype"
  | "bad_offsets"
  | "overlap"
  | "size_mismatch"
  | "unsupported_dtype"
  | "not_found"
  | "io";

/**
 * The one error type of the safetensors reader and writer. It names the offending `field`
 * (a tensor name, a header key, or a file-level item such as `header length`), what was
 * `expected` and what was `received`, so that a message like
 * `tensor 'a.weight': data_offsets expected end - begin = 24 (shape [2,3] × F32), received 20`
 * can be built by callers too.
 */
export class SafetensorsError extends LycorisError {
  override readonly name = "SafetensorsError";
  /** Stable classification of the problem. */
  override readonly kind: SafetensorsErrorKind;
  /** Tensor name or header key the problem is about. */
  override readonly field: string;
  /** What a valid file has there. */
  override readonly expected: string;
  /** What this file has there. */
  override readonly received: string;

  constructor(
    kind: SafetensorsErrorKind,
    field: string,
    expected: string,
    received: string,
    options?: { cause?: unknown; path?: string },
  ) {
    const where = options?.path === undefined ? "" : `${options.path}: `;
    super(
      kind,
      `${where}safetensors ${kind.replace(/_/g, " ")} at '${field}': expected ${expected}, received ${received}`,
      { field, expected, received, path: options?.path, cause: options?.cause },
    );
    this.kind = kind;
    this.field = field;
    this.expected = expected;
    this.received = received;
  }
}
