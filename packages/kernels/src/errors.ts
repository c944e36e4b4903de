import { LycorisError } from "@lycoris-ts/errors";
/**
 * The one error class of `@lycoris-ts/kernels`. `op` names the operation that rejected its
 * input, so a message can be traced back to the call site.
 */
export class KernelsError extends LycorisError {
  override readonly name = "KernelsError";
  /** The operation that raised the error, e.g. `"matmul"`. */
  readonly op: string;

  constructor(op: string, message: string) {
    super("invalid_input", `${op}: ${message}`, { field: op });
    this.op = op;
  }
}
