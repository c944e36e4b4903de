/** One of {@link TurnBuffers}' buffers: `bytes` is the caller's until it is handed to a write. */
export interface TurnBuffer {
  bytes: Uint8Array;
  /** The write in flight from `bytes` (resolved when none). */
  busy: Promise<void>;
}

const idle: Promise<void> = Promise.resolve();

/**
 * Two byte buffers taking turns (double buffering): one is filled (read, merged, encoded) while
 * the write from the other completes, so reading the next tensor overlaps writing the previous one.
 * With `reuse`, each buffer is allocated once and grows only for a larger request (fresh memory is
 * what costs here: touching a reused buffer is many times cheaper than touching a new one); without
 * it (a stream output, which may keep the chunks it is given), every request gets a fresh array.
 */
export class TurnBuffers {
  private readonly buffers: [TurnBuffer, TurnBuffer] = [
    { bytes: new Uint8Array(0), busy: idle },
    { bytes: new Uint8Array(0), busy: idle },
  ];
  private turn = 0;

  constructor(private readonly reuse: boolean) {}

  /**
   * The next buffer, once its previous write has finished, holding at least `size` bytes (with
   * `reuse`, possibly more: a chunked copy may use all of it). Rejects with that write's error.
   */
  async next(size: number): Promise<TurnBuffer> {
    const b = this.buffers[this.turn]!;
    this.turn ^= 1;
    await b.busy;
    b.busy = idle;
    if (!this.reuse || b.bytes.length < size) b.bytes = new Uint8Array(size);
    return b;
  }

  /** Marks `b` busy until `write` settles (a failed write rejects the buffer's next turn and `drain`). */
  hold(b: TurnBuffer, write: Promise<void>): void {
    write.catch(() => undefined);
    b.busy = write;
  }

  /** Waits for both buffers' writes; rejects with the first failure. */
  async drain(): Promise<void> {
    for (const b of this.buffers) {
      const busy = b.busy;
      b.busy = idle;
      await busy;
    }
  }

  /** Waits for both buffers' writes, ignoring failures (before an abort). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.buffers.map((b) => b.busy));
  }
}
