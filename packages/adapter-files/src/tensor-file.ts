import { SafetensorsReader } from "@lycoris-ts/safetensors";
import { checkRegularFile, type FileInput } from "./file-input";

/** Lazy, tensor-by-tensor access to one safetensors file (header validated on open). */
export type TensorFile = Pick<
  SafetensorsReader,
  "path" | "header" | "names" | "has" | "info" | "read" | "readBytes" | "readBytesInto" | "close"
>;

/**
 * Opens a safetensors file for lazy reading (`@lycoris-ts/safetensors`' reader): a path through
 * Node's file system, a `Blob` / `File` by slices. Close it with `close()`.
 *
 * @throws SafetensorsError for a missing (`io`) or malformed file; messages start with its name;
 *   AdapterFilesError `input` for a path that is not a regular file (FIFO, device, directory).
 */
export async function openTensorFile(input: FileInput): Promise<TensorFile> {
  await checkRegularFile(input);
  return SafetensorsReader.open(input);
}
