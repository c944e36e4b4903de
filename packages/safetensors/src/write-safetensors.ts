import { ioError } from "./io-error";
import { type SerializeOptions, serializeSafetensors, type TensorsToWrite } from "./serialize-safetensors";
import { writeFileAtomic } from "./write-file-atomic";

/**
 * Serialises tensors (see `serializeSafetensors`) and writes them atomically to `path`: the
 * file is complete and fsynced before it replaces any previous file, and nothing is left behind
 * when serialisation or writing fails.
 *
 * @throws SafetensorsError (`io` for file-system failures).
 */
export async function writeSafetensors(
  path: string,
  tensors: TensorsToWrite,
  opts: SerializeOptions = {},
): Promise<void> {
  const bytes = serializeSafetensors(tensors, opts);
  try {
    await writeFileAtomic(path, bytes);
  } catch (cause) {
    throw ioError(path, "a writable file", cause);
  }
}
