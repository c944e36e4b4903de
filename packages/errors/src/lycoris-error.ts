/** Where and what: the optional details every {@link LycorisError} may carry. */
export interface LycorisErrorDetails {
  /** The offending field, option, parameter or key. */
  readonly field?: string | undefined;
  /** What would have been accepted there, in words or as a shape such as `[16, 12]`. */
  readonly expected?: string | undefined;
  /** The value (or a description of it) that was given. */
  readonly received?: unknown;
  /** The file or directory at fault. */
  readonly path?: string | undefined;
  /** The module (dotted path, or file key when unresolved) at fault. */
  readonly module?: string | undefined;
  /** The underlying error, when this one wraps another. */
  readonly cause?: unknown;
}

/**
 * The base class of every error that lycoris-ts throws for bad input. Each package subclasses it
 * (`KernelsError`, `LycorisConfigError`, `SafetensorsError`, `AdapterError`, ...) with its own
 * `kind` values; a program can catch the whole family with `instanceof LycorisError` and branch on
 * `name` + `kind`. The message is one line a user can act on: what, where, expected, given.
 *
 * @example
 * try {
 *   await loadPeftModel(model, dir);
 * } catch (e) {
 *   if (e instanceof LycorisError) console.error(`${e.name} (${e.kind}): ${e.message}`);
 *   else throw e;
 * }
 */
const BRAND = Symbol.for("@lycoris-ts/errors.LycorisError");

export class LycorisError extends Error {
  /**
   * `instanceof LycorisError` holds across copies of this package (a plugin bundling its own copy,
   * CJS and ESM builds loaded side by side): the family is recognised by a global brand.
   * Subclasses keep the ordinary prototype check.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of instanceof (a subclass or this one)
    if (this !== LycorisError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  override readonly name: string = "LycorisError";
  /** Stable classification of the problem, for programs to branch on (values per subclass). */
  readonly kind: string;
  /** The offending field, option, parameter or key, where one applies. */
  readonly field?: string | null | undefined;
  /** What would have been accepted, where that can be said. */
  readonly expected?: string | null | undefined;
  /** What was given, where that can be said. */
  readonly received?: unknown;
  /** The file or directory at fault, where one applies. */
  readonly path?: string | undefined;
  /** The module at fault, where one applies. */
  readonly module?: string | undefined;

  constructor(kind: string, message: string, details: LycorisErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = kind;
    Object.defineProperty(this, BRAND, { value: true });
    if (details.field !== undefined) this.field = details.field;
    if (details.expected !== undefined) this.expected = details.expected;
    if (details.received !== undefined) this.received = details.received;
    if (details.path !== undefined) this.path = details.path;
    if (details.module !== undefined) this.module = details.module;
  }
}

/** True for every error of the lycoris-ts family (any package, any kind). */
export function isLycorisError(error: unknown): error is LycorisError {
  return error instanceof LycorisError;
}
