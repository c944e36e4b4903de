import type { FloatArray, Tensor } from "@lycoris-ts/kernels";
import { decodeTensorBytes, type FloatDtype, type TensorInfo } from "@lycoris-ts/safetensors";
import { AdapterFilesError } from "./adapter-files-error";
import type { FileOutput } from "./file-input";
import type { OnProgress } from "./progress";
import type { TensorFile } from "./tensor-file";
import { createTensorFileWriter, type TensorFileWriter } from "./tensor-file-writer";
import { type TurnBuffer, TurnBuffers } from "./turn-buffers";

/** Options of {@link writeMergedCopy}. */
export interface MergedCopyOptions {
  /** Called once the output exists (`done: 0`) and after every tensor. */
  readonly onProgress?: OnProgress;
  /** Stops the copy between two tensors: nothing is left at the output, the call rejects (`aborted`). */
  readonly signal?: AbortSignal;
  /**
   * Write merged tensors holding NaN / ±Inf (default false: PEFT's `safe_merge`, every merged
   * tensor is checked and the first non-finite one is refused, naming it; nothing is written).
   */
  readonly allowNonFinite?: boolean;
}

/**
 * Decodes the base tensor being copied into the engine's reused float32 scratch and returns it.
 * The tensor is engine-owned scratch: patch it in place and return it from the callback; do not
 * keep it (or its `data`) after the callback returns, the next tensor reuses the memory.
 */
export type LoadBaseWeight = () => Promise<Tensor<Float32Array>>;

/**
 * The per-tensor callback of {@link writeMergedCopy}: given a base tensor's header entry, returns
 * its new value or `null` to copy its bytes unchanged. To patch the base weight, call
 * `loadWeight()`, change the tensor it gives in place and return that same tensor (the fast path:
 * no allocation, no copy); any other tensor of the same shape is written as the replacement.
 */
export type ReplaceTensor = (
  info: TensorInfo,
  loadWeight: LoadBaseWeight,
) => Promise<Tensor<FloatArray> | null>;

/** One file of a merged copy: where it goes, which base tensors it holds, and its metadata. */
export interface MergedFile {
  readonly target: FileOutput;
  readonly tensors: readonly string[];
  readonly metadata: Readonly<Record<string, string>> | null;
}

/**
 * Several output files (a sharded checkpoint): written one after the other, each fsynced, and
 * renamed into place only once every file is complete; then `finish` runs (it writes the index).
 * On an error or an abort, every temporary file is removed, then `abort` runs.
 */
export interface MergedLayout {
  readonly files: readonly MergedFile[];
  readonly finish?: () => Promise<void>;
  readonly abort?: () => Promise<void>;
}

/** Bytes copied per read/write when a tensor is copied unchanged. */
const COPY_CHUNK = 16 * 1024 * 1024;

/** Refuses a merged tensor with a NaN / ±Inf value, naming it and the first such element. */
function checkFinite(name: string, value: Tensor<FloatArray>): void {
  const data = value.data;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v === 0) continue; // NaN for NaN and ±Inf
    throw new AdapterFilesError(
      "input",
      `merged tensor '${name}' has a non-finite value (${v} at element ${i} of ${data.length}): the adapter or the scale produces NaN/Inf; nothing written (allowNonFinite / --allow-non-finite writes it anyway)`,
    );
  }
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new AdapterFilesError("aborted", "aborted; no output written");
}

const littleEndian = (): boolean => new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Copies base tensors into output writers through two reused buffers: reads the next tensor (or
 * chunk) while the previous one is written, decodes F32 in place (a view on the bytes read) and
 * other float dtypes into one reused float32 scratch, and encodes back into the bytes it writes.
 */
class MergedCopier {
  private scratch = new Float32Array(0);

  constructor(
    private readonly base: TensorFile,
    private readonly replace: ReplaceTensor,
    private readonly buffers: TurnBuffers,
    private readonly pipelined: boolean,
    private readonly allowNonFinite: boolean,
  ) {}

  /** Starts the write of `b`'s bytes; waits for it only when not pipelined (a stream output). */
  private async issue(b: TurnBuffer | null, write: Promise<void>): Promise<void> {
    if (b !== null && this.pipelined) this.buffers.hold(b, write);
    else await write;
  }

  private decode(info: TensorInfo, bytes: Uint8Array): Tensor<Float32Array> {
    if (info.dtype === "F32" && littleEndian()) {
      return {
        data: new Float32Array(bytes.buffer, bytes.byteOffset, info.byteLength / 4),
        shape: [...info.shape],
      };
    }
    const numel = info.shape.reduce((a, d) => a * d, 1);
    if (this.scratch.length < numel) this.scratch = new Float32Array(numel);
    return decodeTensorBytes(info.name, info.dtype, info.shape, bytes, this.scratch);
  }

  async copy(writer: TensorFileWriter, info: TensorInfo): Promise<void> {
    let loaded: { b: TurnBuffer; weight: Tensor<Float32Array> } | null = null;
    const loadWeight: LoadBaseWeight = async () => {
      if (loaded !== null) return loaded.weight;
      const b = await this.buffers.next(info.byteLength);
      const bytes = b.bytes.subarray(0, info.byteLength);
      await this.base.readBytesInto(info.name, bytes);
      loaded = { b, weight: this.decode(info, bytes) };
      return loaded.weight;
    };
    const value = await this.replace(info, loadWeight);
    if (value === null) return this.copyBytes(writer, info);
    if (!this.allowNonFinite) checkFinite(info.name, value);
    const l = loaded as { b: TurnBuffer; weight: Tensor<Float32Array> } | null;
    if (l !== null && value.data === l.weight.data) {
      const bytes = l.b.bytes.subarray(0, info.byteLength);
      const same = l.weight.data.buffer === bytes.buffer && l.weight.data.byteOffset === bytes.byteOffset;
      if (same) return this.issue(l.b, writer.writeBytes(info.name, bytes));
      return this.issue(l.b, writer.write(info.name, value, bytes));
    }
    // A replacement tensor: F32 is written from its own memory, other dtypes are encoded into a buffer.
    if (info.dtype === "F32" && value.data instanceof Float32Array && littleEndian()) {
      return this.issue(null, writer.write(info.name, value));
    }
    const b = l?.b ?? (await this.buffers.next(info.byteLength));
    return this.issue(b, writer.write(info.name, value, b.bytes));
  }

  /** Copies a tensor's bytes unchanged, chunk by chunk through the turn buffers. */
  private async copyBytes(writer: TensorFileWriter, info: TensorInfo): Promise<void> {
    if (info.byteLength === 0) return this.issue(null, writer.writeBytes(info.name, new Uint8Array(0)));
    for (let start = 0; start < info.byteLength; ) {
      const b = await this.buffers.next(Math.min(COPY_CHUNK, info.byteLength - start));
      const part = b.bytes.subarray(0, Math.min(b.bytes.length, info.byteLength - start));
      await this.base.readBytesInto(info.name, part, start);
      await this.issue(b, writer.writeBytesAt(info.name, part, start));
      start += part.length;
    }
  }
}

function singleFile(base: TensorFile, output: FileOutput): MergedLayout {
  return {
    files: [
      { target: output, tensors: base.header.tensors.map((t) => t.name), metadata: base.header.metadata },
    ],
  };
}

function isLayout(output: FileOutput | MergedLayout): output is MergedLayout {
  return typeof output === "object" && "files" in output && Array.isArray(output.files);
}

/**
 * Writes a copy of `base` to `output` (same names, dtypes and metadata), one tensor at a time:
 * `replace(info, loadWeight)` returns the new value of a tensor, or `null` to copy its bytes
 * unchanged (see {@link ReplaceTensor}). `output` is one file, or a {@link MergedLayout} of several
 * (a sharded checkpoint).
 *
 * The copy runs at the speed of the disk: memory is two buffers of the largest patched tensor (or
 * of 16 MiB copy chunks) allocated once and reused, plus one float32 scratch for F16 / BF16 / F64
 * tensors; reading the next tensor overlaps writing the previous one, and the file is written back
 * to disk as it grows so the final fsync has little left. The output appears only complete (each
 * path: temporary file, fsync, renamed when every file is done); on an error or an abort nothing
 * is left. Returns the number of tensors.
 */
export async function writeMergedCopy(
  base: TensorFile,
  output: FileOutput | MergedLayout,
  replace: ReplaceTensor,
  opts: MergedCopyOptions = {},
): Promise<number> {
  checkAborted(opts.signal);
  const layout = isLayout(output) ? output : singleFile(base, output);
  const pipelined = layout.files.every((f) => typeof f.target === "string");
  const buffers = new TurnBuffers(pipelined);
  const copier = new MergedCopier(base, replace, buffers, pipelined, opts.allowNonFinite === true);
  const total = layout.files.reduce((n, f) => n + f.tensors.length, 0);
  const writers: TensorFileWriter[] = [];
  const flushes: Promise<void>[] = [];
  try {
    let done = 0;
    for (const file of layout.files) {
      const announced = file.tensors.map((name) => {
        const info = base.info(name)!;
        return { name, shape: info.shape, dtype: info.dtype as FloatDtype };
      });
      const writer = await createTensorFileWriter(
        file.target,
        announced,
        file.metadata === null ? {} : { metadata: file.metadata },
      );
      writers.push(writer);
      if (done === 0) opts.onProgress?.({ task: "merge", done: 0, total, item: "" });
      for (const { name } of writer.header.tensors) {
        checkAborted(opts.signal);
        await copier.copy(writer, base.info(name)!);
        opts.onProgress?.({ task: "merge", done: ++done, total, item: name });
      }
      const flushed = writer.flush(); // fsyncs while the next file is written
      flushed.catch(() => undefined);
      flushes.push(flushed);
    }
    await buffers.drain();
    for (const f of flushes) await f;
    for (const w of writers) await w.close();
    await layout.finish?.();
    return total;
  } catch (error) {
    await buffers.settle();
    for (const w of writers) await w.abort();
    await layout.abort?.();
    throw error;
  }
}
