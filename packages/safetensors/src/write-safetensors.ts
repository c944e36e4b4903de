import { streamSink } from "./byte-sink";
import { ioError } from "./io-error";
import { type SerializeOptions, serializeSafetensors, type TensorsToWrite } from "./serialize-safetensors";
import { writeFileAtomic } from "./write-file-atomic";

/**
 * Serialises tensors (see `serializeSafetensors`) and writes them to a path or a stream.
 *
 * A path (Node.js) is written atomically: the file is complete and fsynced before it replaces
 * any previous file, and nothing is left behind when serialisation or writing fails. A
 * `WritableStream<Uint8Array>` gets the bytes and is closed (aborted on failure); nothing is
 * written to it when serialisation fails.
 *
 * @throws SafetensorsError (`io` for file-system or stream failures).
 */
export async function writeSafetensors(
  target: string | WritableStream<Uint8Array>,
  tensors: TensorsToWrite,
  opts: SerializeOptions = {},
): Promise<void> {
  const bytes = serializeSafetensors(tensors, opts);
  if (typeof target !== "string") {
    const sink = streamSink(target);
    try {
      await sink.writeAt(bytes, 0);
      await sink.publish();
    } catch (error) {
      await sink.abort();
      throw error;
    }
    return;
  }
  try {
    await writeFileAtomic(target, bytes);
  } catch (cause) {
    throw ioError(target, "a writable file", cause);
  }
}
