import { ioError } from "./io-error";
import { AtomicFile } from "./write-file-atomic";

/** Where a streaming writer puts a file: positioned writes, then commit (or abort). */
export interface ByteSink {
  /** The final path (`<stream>` for a stream): used in messages. */
  readonly name: string;
  /** Writes `bytes` at absolute `position`. @throws SafetensorsError `io`. */
  writeAt(bytes: Uint8Array, position: number): Promise<void>;
  /** Makes the data durable (fsync; nothing for a stream). @throws SafetensorsError `io`. */
  flush(): Promise<void>;
  /** Makes the flushed file visible (rename into place / close the stream). @throws SafetensorsError `io`. */
  publish(): Promise<void>;
  /** Discards what was written (temp file removed / stream aborted). Safe to call twice. */
  abort(): Promise<void>;
}

/**
 * A temporary file next to `path`, `size` bytes long, renamed over `path` on commit (after an
 * fsync); see `AtomicFile`.
 */
export async function openFileSink(path: string, size: number): Promise<ByteSink> {
  let file: AtomicFile;
  try {
    file = await AtomicFile.create(path);
  } catch (cause) {
    throw ioError(path, "a writable directory", cause);
  }
  try {
    await file.handle.truncate(size);
  } catch (cause) {
    await file.abort();
    throw ioError(path, "a writable file", cause);
  }
  return {
    name: path,
    async writeAt(bytes, position) {
      try {
        await file.writeAt(bytes, position);
      } catch (cause) {
        throw ioError(path, "a writable file", cause);
      }
    },
    async flush() {
      try {
        await file.flush();
      } catch (cause) {
        throw ioError(path, "a writable file", cause);
      }
    },
    async publish() {
      try {
        await file.publish();
      } catch (cause) {
        throw ioError(path, "a writable file", cause);
      }
    },
    abort: () => file.abort(),
  };
}

/**
 * A `WritableStream` written front to back: a chunk that arrives before its turn is held until
 * every byte before it is written, so writing tensors in file order keeps one tensor in memory.
 */
export function streamSink(stream: WritableStream<Uint8Array>): ByteSink {
  const name = "<stream>";
  let writer: WritableStreamDefaultWriter<Uint8Array>;
  try {
    writer = stream.getWriter();
  } catch (cause) {
    throw ioError(name, "an unlocked WritableStream", cause);
  }
  const held = new Map<number, Uint8Array>();
  let cursor = 0;
  let done = false;
  const put = async (bytes: Uint8Array): Promise<void> => {
    try {
      await writer.write(bytes);
    } catch (cause) {
      throw ioError(name, "a writable stream", cause);
    }
    cursor += bytes.length;
  };
  return {
    name,
    async writeAt(bytes, position) {
      if (bytes.length === 0) return;
      if (position !== cursor) {
        held.set(position, bytes.slice());
        return;
      }
      await put(bytes);
      for (let next = held.get(cursor); next !== undefined; next = held.get(cursor)) {
        held.delete(cursor);
        await put(next);
      }
    },
    async flush() {},
    async publish() {
      done = true;
      try {
        await writer.close();
      } catch (cause) {
        throw ioError(name, "a writable stream", cause);
      }
    },
    async abort() {
      if (done) return;
      done = true;
      held.clear();
      await writer.abort(new Error("safetensors write aborted")).catch(() => undefined);
    },
  };
}
