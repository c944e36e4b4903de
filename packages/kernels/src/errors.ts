/**
 * The one error class of `@lycoris-ts/kernels`. `op` names the operation that rejected its
 * input, so a message can be traced back to the call site.
 */
export class KernelsError extends Error {
  override readonly name = "KernelsError";
  /** The operation that raised the error, e.g. `"matmul"`. */
  readonly op: string;

  constructor(op: string, message: string) {
    super(`${op}: ${message}`);
    this.op = op;
  }
}
