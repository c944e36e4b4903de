import type { FloatArray, Tensor } from "@lycoris-ts/kernels";
import { type ByteSink, openFileSink, streamSink } from "./byte-sink";
import { type FloatDtype, isFloatDtype, isSafetensorsDtype, type SafetensorsDtype } from "./dtype";
import type { SafetensorsHeader } from "./parse-safetensors-header";
import { checkWriteDtype, encodeTensorData, type PlannedTensor, planSafetensors } from "./plan-safetensors";
import { SafetensorsError } from "./safetensors-error";

/** A tensor announced to {@link SafetensorsWriter.create} before its data is known. */
export interface TensorToStream {
  readonly name: string;
  readonly shape: readonly number[];
  /**
   * Dtype in the file; default: the writer's `dtype` option, else `"F32"`. Any safetensors dtype
   * is accepted: non-float tensors are written with `writeBytes` (raw, e.g. copied from another
   * file through `SafetensorsReader.readBytes`).
   */
  readonly dtype?: SafetensorsDtype;
}

function checkStreamDtype(name: string, dtype: string): SafetensorsDtype {
  if (!isSafetensorsDtype(dtype)) {
    throw new SafetensorsError("unknown_dtype", name, "a safetensors dtype", dtype);
  }
  return dtype;
}

/**
 * Streaming safetensors writer: the header (every name, shape and dtype) is written first, then
 * each tensor's data as it becomes available, so a caller never holds more than one tensor. The
 * layout is the same as `serializeSafetensors` gives.
 *
 * - To a path (Node.js): tensors may come in any order; the file is built under a temporary name
 *   and appears under `path` only when `close()` succeeds with every tensor written (fsync, then
 *   rename); `abort()` (or a failed `close()`) removes it.
 * - To a `WritableStream<Uint8Array>` (browsers and Node; wrap a Node stream with
 *   `Writable.toWeb`, any byte sink with `new WritableStream({ write })`): bytes go out front to
 *   back, so write tensors in `writer.header.tensors` order to hold one tensor at a time (a tensor
 *   written early is kept in memory until its turn). `close()` closes the stream, `abort()`
 *   aborts it.
 *
 * @example
 * const w = await SafetensorsWriter.create("out.safetensors", [{ name: "w", shape: [2, 2] }]);
 * try { await w.write("w", tensor); await w.close(); } catch (e) { await w.abort(); throw e; }
 */
export class SafetensorsWriter {
  private readonly pendingNames: Set<string>;
  private readonly byName: ReadonlyMap<string, PlannedTensor>;
  /** Bytes written so far of tensors written in chunks ({@link writeBytesAt}). */
  private readonly chunked = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private finished = false;
  private flushed = false;

  private constructor(
    /** The header being written, with absolute positions. */
    readonly header: SafetensorsHeader,
    private readonly dataOffset: number,
    planned: readonly PlannedTensor[],
    private readonly sink: ByteSink,
  ) {
    this.byName = new Map(planned.map((p) => [p.name, p]));
    this.pendingNames = new Set(planned.map((p) => p.name));
  }

  /**
   * Creates the temporary file (or takes the stream's writer) and writes the header.
   *
   * @param target a path (Node.js only) or a `WritableStream<Uint8Array>`.
   * @throws SafetensorsError for an invalid name/shape/dtype (before touching the target) or `io`.
   */
  static async create(
    target: string | WritableStream<Uint8Array>,
    tensors: readonly TensorToStream[],
    opts: { readonly metadata?: Readonly<Record<string, string>>; readonly dtype?: FloatDtype } = {},
  ): Promise<SafetensorsWriter> {
    const plan = planSafetensors(
      tensors.map((t) => ({
        name: t.name,
        shape: t.shape,
        dtype: checkStreamDtype(t.name, t.dtype ?? opts.dtype ?? "F32"),
      })),
      opts.metadata ?? null,
    );
    const sink = typeof target === "string" ? await openFileSink(target, plan.fileSize) : streamSink(target);
    try {
      await sink.writeAt(plan.headerBytes, 0);
    } catch (error) {
      await sink.abort();
      throw error;
    }
    const header: SafetensorsHeader = {
      tensors: plan.tensors.map((p) => ({
        name: p.name,
        dtype: p.dtype,
        shape: p.shape,
        byteOffset: plan.dataOffset + p.begin,
        byteLength: p.end - p.begin,
      })),
      metadata: opts.metadata === undefined ? null : { ...opts.metadata },
      dataOffset: plan.dataOffset,
    };
    return new SafetensorsWriter(header, plan.dataOffset, plan.tensors, sink);
  }

  /** The final path (`<stream>` when writing to a stream). */
  get path(): string {
    return this.sink.name;
  }

  /** Names announced but not written yet. */
  get pending(): string[] {
    return [...this.pendingNames];
  }

  /**
   * Writes one announced float tensor's data (converted to its dtype: F32, F16, BF16, F64).
   * `scratch` (at least the tensor's byte length) receives the encoded bytes instead of a fresh
   * array; like every buffer given to the writer, it must stay unchanged until the call resolves.
   *
   * @throws SafetensorsError `not_found` (not announced, or already written), `size_mismatch`
   *   (shape differs from the announced one), `io`.
   */
  async write(name: string, tensor: Tensor<FloatArray>, scratch?: Uint8Array): Promise<void> {
    const planned = this.pendingEntry(name);
    const same =
      tensor.shape.length === planned.shape.length && tensor.shape.every((d, i) => d === planned.shape[i]);
    let numel = 1;
    for (const d of planned.shape) numel *= d;
    if (!same || tensor.data.length !== numel) {
      throw new SafetensorsError(
        "size_mismatch",
        name,
        `shape [${planned.shape.join(", ")}] (${numel} values)`,
        `shape [${tensor.shape.join(", ")}] (${tensor.data.length} values)`,
        { path: this.path },
      );
    }
    if (!isFloatDtype(planned.dtype)) {
      throw new SafetensorsError(
        "unsupported_dtype",
        name,
        "a float dtype for write() (use writeBytes for raw data)",
        planned.dtype,
        { path: this.path },
      );
    }
    await this.put(
      name,
      planned,
      encodeTensorData(checkWriteDtype(name, planned.dtype), tensor.data, scratch),
      0,
    );
  }

  /**
   * Writes one announced tensor's raw little-endian bytes as they are stored (any dtype): the
   * way to copy a tensor unchanged from another file (`SafetensorsReader.readBytes`).
   *
   * @throws SafetensorsError `not_found`, `size_mismatch` (byte count differs), `io`.
   */
  async writeBytes(name: string, bytes: Uint8Array): Promise<void> {
    const planned = this.pendingEntry(name);
    if (bytes.length !== planned.end - planned.begin) {
      throw new SafetensorsError(
        "size_mismatch",
        name,
        `${planned.end - planned.begin} bytes (shape [${planned.shape.join(", ")}] × ${planned.dtype})`,
        `${bytes.length} bytes`,
        { path: this.path },
      );
    }
    await this.put(name, planned, bytes, 0);
  }

  /**
   * Writes the next part of one announced tensor's raw bytes: `bytes` go at byte `start` of the
   * tensor, and parts come in order (`start` = the bytes written so far), so a tensor of any size
   * can be copied through one small buffer. The tensor counts as written when its last byte is.
   * Parts of different tensors may be in flight together; keep each `bytes` unchanged until its
   * call resolves.
   *
   * @throws SafetensorsError `not_found`, `size_mismatch` (out of order or past the end), `io`.
   */
  async writeBytesAt(name: string, bytes: Uint8Array, start: number): Promise<void> {
    const planned = this.pendingEntry(name);
    const size = planned.end - planned.begin;
    const done = this.chunked.get(name) ?? 0;
    if (start !== done || start + bytes.length > size) {
      throw new SafetensorsError(
        "size_mismatch",
        name,
        `the next part at byte ${done} of ${size}`,
        `${bytes.length} bytes at ${start}`,
        { path: this.path },
      );
    }
    const end = start + bytes.length;
    if (end < size) this.chunked.set(name, end);
    else this.chunked.delete(name);
    await this.put(name, planned, bytes, start, end === size);
  }

  private pendingEntry(name: string): PlannedTensor {
    if (this.finished)
      throw new SafetensorsError("io", name, "an open writer", "closed", { path: this.path });
    const planned = this.byName.get(name);
    if (planned === undefined || !this.pendingNames.has(name)) {
      throw new SafetensorsError(
        "not_found",
        name,
        "a tensor announced to create() and not yet written",
        planned === undefined ? "an unknown name" : "already written",
        { path: this.path },
      );
    }
    return planned;
  }

  private async put(
    name: string,
    planned: PlannedTensor,
    bytes: Uint8Array,
    start: number,
    last = true,
  ): Promise<void> {
    if (last) this.pendingNames.delete(name);
    const write = this.sink.writeAt(bytes, this.dataOffset + planned.begin + start);
    this.inFlight.add(write);
    try {
      await write;
    } catch (error) {
      this.pendingNames.add(name);
      throw error;
    } finally {
      this.inFlight.delete(write);
    }
  }

  /** Waits for the writes in flight; rejects with the first failure. */
  private async settle(): Promise<void> {
    const results = await Promise.allSettled([...this.inFlight]);
    const failed = results.find((r) => r.status === "rejected");
    if (failed !== undefined) throw failed.reason;
  }

  /**
   * Makes every written byte durable (fsync) without making the file visible yet: the first half
   * of `close()`, for callers finishing several files before renaming any. Then call `close()`.
   *
   * @throws SafetensorsError `truncated` (the file is then removed), or `io`.
   */
  async flush(): Promise<void> {
    if (this.flushed) return;
    if (this.finished)
      throw new SafetensorsError("io", "data", "an open writer", "closed", { path: this.path });
    try {
      await this.settle();
    } catch (error) {
      await this.abort();
      throw error;
    }
    if (this.pendingNames.size > 0) {
      const missing = this.pending;
      await this.abort();
      throw new SafetensorsError(
        "truncated",
        missing[0]!,
        "every announced tensor written before close()",
        `${missing.length} not written (${missing.slice(0, 3).join(", ")}${missing.length > 3 ? ", ..." : ""})`,
        { path: this.path },
      );
    }
    this.flushed = true;
    await this.sink.flush().catch(async (error: unknown) => {
      this.finished = true;
      await this.sink.abort();
      throw error;
    });
  }

  /**
   * Finishes the file: waits for the writes in flight, fsync (see {@link flush}), then rename over `path`.
   *
   * @throws SafetensorsError `truncated` when some announced tensor was never written (the
   *   temporary file is then removed and `path` left untouched), or `io`.
   */
  async close(): Promise<void> {
    if (this.finished) return;
    await this.flush();
    this.finished = true;
    await this.sink.publish();
  }

  /** Discards the temporary file (`path` is left as it was) or aborts the stream. Safe to call twice. */
  async abort(): Promise<void> {
    this.finished = true;
    await Promise.allSettled([...this.inFlight]);
    await this.sink.abort();
  }
}
