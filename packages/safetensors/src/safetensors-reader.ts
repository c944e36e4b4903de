import type { Tensor } from "@lycoris-ts/kernels";
import { type ByteSource, blobSource, openPathSource } from "./byte-source";
import { decodeTensorBytes } from "./decode-tensor-bytes";
import { isFloatDtype } from "./dtype";
import { withPath } from "./io-error";
import {
  DEFAULT_MAX_HEADER_BYTES,
  parseSafetensorsHeader,
  readHeaderLength,
  type SafetensorsHeader,
  type TensorInfo,
} from "./parse-safetensors-header";
import { SafetensorsError } from "./safetensors-error";

/**
 * Lazy, tensor-by-tensor access to a safetensors file: the header is read and fully validated on
 * `open`, and `read(name)` reads only that tensor's bytes. The file is a path (Node: positioned
 * reads through a file handle) or a `Blob` / `File` (browsers and Node: `Blob.slice()`), so files
 * larger than memory can be streamed module by module. Reads may run concurrently. Call
 * `close()` when done.
 *
 * @example
 * const reader = await SafetensorsReader.open("model.safetensors"); // or a File from an <input>
 * try { for (const info of reader.header.tensors) use(await reader.read(info.name)); }
 * finally { await reader.close(); }
 */
export class SafetensorsReader {
  private readonly byName: ReadonlyMap<string, TensorInfo>;
  private closed = false;

  private constructor(
    /** The validated header (tensor names, dtypes, shapes, positions, metadata). */
    readonly header: SafetensorsHeader,
    private readonly source: ByteSource,
  ) {
    this.byName = new Map(header.tensors.map((t) => [t.name, t]));
  }

  /**
   * Opens a file and validates its header (size cap and file size checked before the header
   * is read into memory).
   *
   * @param file a path (Node.js only) or a `Blob` / `File`.
   * @throws SafetensorsError (`io` when the file cannot be opened; messages start with the
   *   path or the File's name).
   */
  static async open(
    file: string | Blob,
    opts: { readonly maxHeaderBytes?: number } = {},
  ): Promise<SafetensorsReader> {
    const source = typeof file === "string" ? await openPathSource(file) : blobSource(file);
    try {
      const max = opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
      const prefix = await source.read(0, Math.min(8, source.size));
      const n = readHeaderLength(prefix, source.size, max);
      const headerBytes = new Uint8Array(8 + n);
      headerBytes.set(prefix, 0);
      headerBytes.set(await source.read(8, n), 8);
      const header = parseSafetensorsHeader(headerBytes, { fileSize: source.size, maxHeaderBytes: max });
      return new SafetensorsReader(header, source);
    } catch (error) {
      await source.close().catch(() => undefined);
      throw withPath(source.name, error);
    }
  }

  /** The file's path, or the File's name (`<blob>` for an unnamed Blob). */
  get path(): string {
    return this.source.name;
  }

  /** Tensor names in file order. */
  get names(): string[] {
    return this.header.tensors.map((t) => t.name);
  }

  /** Whether the file holds a tensor called `name`. */
  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The header entry of `name`, or `undefined`. */
  info(name: string): TensorInfo | undefined {
    return this.byName.get(name);
  }

  private entry(name: string): TensorInfo {
    if (this.closed) throw new SafetensorsError("io", name, "an open reader", "closed", { path: this.path });
    const info = this.byName.get(name);
    if (info === undefined) {
      throw new SafetensorsError("not_found", name, "a tensor in the file", "no such tensor", {
        path: this.path,
      });
    }
    return info;
  }

  /** The raw little-endian bytes of one tensor, as stored. */
  async readBytes(name: string): Promise<Uint8Array> {
    const info = this.entry(name);
    return this.source.read(info.byteOffset, info.byteLength);
  }

  /**
   * Reads `target.length` bytes of one tensor, from byte `start` of its data, into `target` (no
   * allocation for a path): a tensor of any size can be copied or decoded through one reused buffer.
   *
   * @throws SafetensorsError `not_found`, `size_mismatch` (the range leaves the tensor), `io`.
   */
  async readBytesInto(name: string, target: Uint8Array, start = 0): Promise<Uint8Array> {
    const info = this.entry(name);
    if (!Number.isSafeInteger(start) || start < 0 || start + target.length > info.byteLength) {
      throw new SafetensorsError(
        "size_mismatch",
        name,
        `a byte range inside the tensor's ${info.byteLength} bytes`,
        `${target.length} bytes at ${start}`,
        { path: this.path },
      );
    }
    await this.source.readInto(info.byteOffset + start, target);
    return target;
  }

  /**
   * Reads and decodes one tensor to float32.
   *
   * @throws SafetensorsError `not_found`, `unsupported_dtype` (non-float dtypes), `io`.
   */
  async read(name: string): Promise<Tensor<Float32Array>> {
    const info = this.entry(name);
    if (!isFloatDtype(info.dtype)) {
      throw new SafetensorsError(
        "unsupported_dtype",
        name,
        "F32, F16, BF16 or F64 to read as floats",
        info.dtype,
        { path: this.path },
      );
    }
    const bytes = await this.source.read(info.byteOffset, info.byteLength);
    return decodeTensorBytes(info.name, info.dtype, info.shape, bytes);
  }

  /** Closes the file handle. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.source.close();
  }
}
