import type { FileHandle } from "node:fs/promises";
import { ioError } from "./io-error";
import { nodeFsPromises } from "./node-builtins";
import { SafetensorsError } from "./safetensors-error";

/** Random-access reads of a file being read tensor by tensor (a path in Node, a Blob anywhere). */
export interface ByteSource {
  /** The path, or the File's name (`<blob>` for an unnamed Blob): used in messages. */
  readonly name: string;
  /** Size of the whole file in bytes. */
  readonly size: number;
  /** Exactly `length` bytes at `position`. @throws SafetensorsError `truncated` or `io`. */
  read(position: number, length: number): Promise<Uint8Array>;
  /** Fills all of `target` with the bytes at `position` (no allocation for a path). @throws like `read`. */
  readInto(position: number, target: Uint8Array): Promise<void>;
  /** Releases the file handle (no-op for a Blob). Safe to call twice. */
  close(): Promise<void>;
}

const shortRead = (name: string, length: number, position: number, got: number): SafetensorsError =>
  new SafetensorsError("truncated", "data", `${length} bytes at ${position}`, `${got} bytes`, { path: name });

/** Opens a file by path (Node) for positioned reads. @throws SafetensorsError `io`. */
export async function openPathSource(path: string): Promise<ByteSource> {
  let handle: FileHandle;
  try {
    handle = await nodeFsPromises().open(path, "r");
  } catch (cause) {
    throw ioError(path, "a readable file", cause);
  }
  let size: number;
  try {
    size = (await handle.stat()).size;
  } catch (cause) {
    await handle.close().catch(() => undefined);
    throw ioError(path, "a readable file", cause);
  }
  let closed = false;
  const readInto = async (position: number, out: Uint8Array): Promise<void> => {
    const length = out.length;
    let done = 0;
    while (done < length) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(out, done, length - done, position + done));
      } catch (cause) {
        throw ioError(path, `${length} readable bytes at ${position}`, cause);
      }
      if (bytesRead === 0) throw shortRead(path, length, position, done);
      done += bytesRead;
    }
  };
  return {
    name: path,
    size,
    async read(position, length) {
      const out = new Uint8Array(length);
      await readInto(position, out);
      return out;
    },
    readInto,
    async close() {
      if (closed) return;
      closed = true;
      await handle.close();
    },
  };
}

/** Positioned reads of a Blob or File through `Blob.slice().arrayBuffer()` (browsers and Node). */
export function blobSource(blob: Blob): ByteSource {
  const fileName = (blob as { name?: unknown }).name;
  const name = typeof fileName === "string" && fileName !== "" ? fileName : "<blob>";
  const read = async (position: number, length: number): Promise<Uint8Array> => {
    let buffer: ArrayBuffer;
    try {
      buffer = await blob.slice(position, position + length).arrayBuffer();
    } catch (cause) {
      throw ioError(name, `${length} readable bytes at ${position}`, cause);
    }
    if (buffer.byteLength !== length) throw shortRead(name, length, position, buffer.byteLength);
    return new Uint8Array(buffer);
  };
  return {
    name,
    size: blob.size,
    read,
    async readInto(position, target) {
      target.set(await read(position, target.length));
    },
    async close() {},
  };
}
