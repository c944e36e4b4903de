import { type FloatDtype, SafetensorsWriter, type TensorToStream } from "@lycoris-ts/safetensors";
import type { FileOutput } from "./file-input";

/** A safetensors file being written tensor by tensor (header first); see {@link createTensorFileWriter}. */
export type TensorFileWriter = Pick<
  SafetensorsWriter,
  "header" | "write" | "writeBytes" | "writeBytesAt" | "flush" | "close" | "abort"
>;

/**
 * Starts a safetensors file at `output` with these tensors announced (`@lycoris-ts/safetensors`'
 * writer): a path is written atomically (temporary file, fsync, rename); a stream gets the header
 * first, then the tensors in `header.tensors` order.
 *
 * @throws SafetensorsError for invalid tensors or `io`.
 */
export function createTensorFileWriter(
  output: FileOutput,
  tensors: readonly TensorToStream[],
  opts: { readonly metadata?: Readonly<Record<string, string>>; readonly dtype?: FloatDtype } = {},
): Promise<TensorFileWriter> {
  return SafetensorsWriter.create(output, tensors, opts);
}
