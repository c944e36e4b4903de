import { KernelsError } from "./errors";

/**
 * Float32 scratch buffers owned by one operation (one merge call, one `merge()` of a model) and reused
 * across its steps, so a hot loop over many modules touches fresh memory once, not once per module.
 * Each slot grows to the largest size asked of it; slots never overlap. What a taken buffer held before
 * is garbage: every user overwrites it. Keep a pool for the duration of the operation, never in module
 * state.
 *
 * @example
 * const pool = new ScratchPool().reserve(largestWeight); // no take below allocates
 * const delta = variant.deltaWeight(params, ctx, scaling, pool.take(weight.data.length));
 */
export class ScratchPool {
  readonly #slots: Float32Array[] = [];

  /** Grows slots `0 … slots − 1` to at least `n` values now (the largest request the operation will make). */
  reserve(n: number, slots = 1): this {
    for (let s = 0; s < slots; s++) this.#grow(n, s);
    return this;
  }

  /** The first `n` values of slot `slot` (default 0), grown to `n` if it is shorter. */
  take(n: number, slot = 0): Float32Array {
    return this.#grow(n, slot).subarray(0, n);
  }

  /** Values held by all slots together. */
  get capacity(): number {
    return this.#slots.reduce((sum, b) => sum + (b?.length ?? 0), 0);
  }

  #grow(n: number, slot: number): Float32Array {
    if (!(Number.isInteger(n) && n >= 0 && Number.isInteger(slot) && slot >= 0)) {
      throw new KernelsError(
        "ScratchPool",
        `size and slot must be non-negative integers, got ${n} and ${slot}`,
      );
    }
    const have = this.#slots[slot];
    if (have !== undefined && have.length >= n) return have;
    const buf = new Float32Array(n);
    this.#slots[slot] = buf;
    return buf;
  }
}
