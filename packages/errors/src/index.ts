/** The one error family of lycoris-ts: every package's errors extend {@link LycorisError}. */
export { describeValue } from "./describe-value";
export type { LycorisErrorDetails } from "./lycoris-error";
export { isLycorisError, LycorisError } from "./lycoris-error";
