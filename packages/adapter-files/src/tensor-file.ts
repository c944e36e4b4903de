import type { Tensor } from "@lycoris-ts/kernels";
import {
  DEFAULT_MAX_HEADER_BYTES,
  decodeTensorBytes,
  parseSafetensorsHeader,
  SafetensorsError,
  type SafetensorsHeader,
  SafetensorsReader,
  type TensorInfo,
} from "@lycoris-ts/runtime";
import { type FileInput, inputName } from "./file-input";

/** Lazy, tensor-by-tensor access to one safetensors file (header validated on open). */
export type TensorFile = Pick<
  SafetensorsReader,
  "path" | "header" | "names" | "has" | "info" | "read" | "readBytes" | "close"
>;

class BlobTensorFile implements TensorFile {
  readonly #byName: ReadonlyMap<string, TensorInfo>;

  constructor(
    readonly path: string,
    readonly header: SafetensorsHeader,
    private readonly blob: Blob,
  ) {
    this.#byName = new Map(header.tensors.map((t) => [t.name, t]));
  }

  get names(): string[] {
    return this.header.tensors.map((t) => t.name);
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  info(name: string): TensorInfo | undefined {
    return this.#byName.get(name);
  }

  async readBytes(name: string): Promise<Uint8Array> {
    const info = this.#byName.get(name);
    if (info === undefined) {
      throw new SafetensorsError("not_found", name, "a tensor in the file", "no such tensor", {
        path: this.path,
      });
    }
    return new Uint8Array(
      await this.blob.slice(info.byteOffset, info.byteOffset + info.byteLength).arrayBuffer(),
    );
  }

  async read(name: string): Promise<Tensor<Float32Array>> {
    const bytes = await this.readBytes(name);
    const info = this.#byName.get(name)!;
    return decodeTensorBytes(info.name, info.dtype, info.shape, bytes);
  }

  async close(): Promise<void> {}
}

/** Reads a Blob's safetensors header: the 8-byte length, then the JSON (capped, checked by the parser). */
async function openBlob(blob: Blob): Promise<TensorFile> {
  const name = inputName(blob);
  try {
    const prefix = new Uint8Array(await blob.slice(0, 8).arrayBuffer());
    const view = new DataView(prefix.buffer, 0, prefix.length);
    const n = prefix.length < 8 ? 0 : view.getUint32(0, true) + view.getUint32(4, true) * 0x1_0000_0000;
    const end = n > DEFAULT_MAX_HEADER_BYTES ? 8 : Math.min(blob.size, 8 + n);
    const bytes = new Uint8Array(await blob.slice(0, end).arrayBuffer());
    return new BlobTensorFile(name, parseSafetensorsHeader(bytes, { fileSize: blob.size }), blob);
  } catch (error) {
    if (error instanceof SafetensorsError && !error.message.startsWith(`${name}: `)) {
      error.message = `${name}: ${error.message}`;
    }
    throw error;
  }
}

/**
 * Opens a safetensors file for lazy reading: a path through Node's file system, a `Blob` / `File`
 * by slices. Close it with `close()`.
 *
 * @throws SafetensorsError for a missing (`io`) or malformed file; messages start with its name.
 */
export function openTensorFile(input: FileInput): Promise<TensorFile> {
  return typeof input === "string" ? SafetensorsReader.open(input) : openBlob(input);
}
