import type { FileHandle } from "node:fs/promises";
import type { Tensor } from "@lycoris-ts/kernels";
import { decodeTensorBytes } from "./decode-tensor-bytes";
import { isFloatDtype } from "./dtype";
import { ioError } from "./io-error";
import { nodeFsPromises } from "./node-builtins";
import {
  DEFAULT_MAX_HEADER_BYTES,
  parseSafetensorsHeader,
  readHeaderLength,
  type SafetensorsHeader,
  type TensorInfo,
} from "./parse-safetensors-header";
import { SafetensorsError } from "./safetensors-error";

async function readExactly(
  handle: FileHandle,
  path: string,
  length: number,
  position: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(out, done, length - done, position + done));
    } catch (cause) {
      throw ioError(path, `${length} readable bytes at ${position}`, cause);
    }
    if (bytesRead === 0) {
      throw new SafetensorsError("truncated", "data", `${length} bytes at ${position}`, `${done} bytes`, {
        path,
      });
    }
    done += bytesRead;
  }
  return out;
}

/**
 * Lazy, tensor-by-tensor access to a safetensors file through an open file handle: the header
 * is read and fully validated on `open`, and `read(name)` reads only that tensor's bytes. Use it
 * to stream over files larger than memory (e.g. a merge module by module). Reads may run
 * concurrently. Call `close()` when done.
 *
 * @example
 * const reader = await SafetensorsReader.open("model.safetensors");
 * try { for (const info of reader.header.tensors) use(await reader.read(info.name)); }
 * finally { await reader.close(); }
 */
export class SafetensorsReader {
  private readonly byName: ReadonlyMap<string, TensorInfo>;
  private closed = false;

  private constructor(
    /** The file's path. */
    readonly path: string,
    /** The validated header (tensor names, dtypes, shapes, positions, metadata). */
    readonly header: SafetensorsHeader,
    private readonly handle: FileHandle,
  ) {
    this.byName = new Map(header.tensors.map((t) => [t.name, t]));
  }

  /**
   * Opens `path` and validates its header (size cap and file size checked before the header
   * is read into memory).
   *
   * @throws SafetensorsError (`io` when the file cannot be opened).
   */
  static async open(
    path: string,
    opts: { readonly maxHeaderBytes?: number } = {},
  ): Promise<SafetensorsReader> {
    let handle: FileHandle;
    try {
      handle = await nodeFsPromises().open(path, "r");
    } catch (cause) {
      throw ioError(path, "a readable file", cause);
    }
    try {
      const { size } = await handle.stat();
      const max = opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
      const prefix = await readExactly(handle, path, Math.min(8, size), 0);
      const n = readHeaderLength(prefix, size, max);
      const headerBytes = new Uint8Array(8 + n);
      headerBytes.set(prefix, 0);
      headerBytes.set(await readExactly(handle, path, n, 8), 8);
      const header = parseSafetensorsHeader(headerBytes, { fileSize: size, maxHeaderBytes: max });
      return new SafetensorsReader(path, header, handle);
    } catch (error) {
      await handle.close().catch(() => undefined);
      if (error instanceof SafetensorsError && !error.message.startsWith(`${path}: `)) {
        error.message = `${path}: ${error.message}`;
      }
      throw error;
    }
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
    return readExactly(this.handle, this.path, info.byteLength, info.byteOffset);
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
        {
          path: this.path,
        },
      );
    }
    const bytes = await readExactly(this.handle, this.path, info.byteLength, info.byteOffset);
    return decodeTensorBytes(info.name, info.dtype, info.shape, bytes);
  }

  /** Closes the file handle. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}
