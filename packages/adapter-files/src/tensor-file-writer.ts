import type { FloatArray, Tensor } from "@lycoris-ts/kernels";
import {
  type FloatDtype,
  type SafetensorsHeader,
  SafetensorsWriter,
  type TensorToStream,
} from "@lycoris-ts/runtime";
import { AdapterFilesError } from "./adapter-files-error";
import type { FileOutput } from "./file-input";

/** A safetensors file being written tensor by tensor (header first); see {@link createTensorFileWriter}. */
export interface TensorFileWriter {
  /** The header being written; tensors are written in its order. */
  readonly header: SafetensorsHeader;
  write(name: string, tensor: Tensor<FloatArray>): Promise<void>;
  writeBytes(name: string, bytes: Uint8Array): Promise<void>;
  /** Finishes the file (a path appears only now, atomically). */
  close(): Promise<void>;
  /** Discards what was written (a path is left as it was). */
  abort(): Promise<void>;
}

/**
 * Starts a safetensors file at `output` with these tensors announced: a path is written atomically
 * (temporary file, fsync, rename).
 *
 * @throws AdapterFilesError `unsupported` for a `WritableStream` until `@lycoris-ts/safetensors`
 *   (streamed writing) is available here; SafetensorsError for invalid tensors or `io`.
 */
export async function createTensorFileWriter(
  output: FileOutput,
  tensors: readonly TensorToStream[],
  opts: { readonly metadata?: Readonly<Record<string, string>>; readonly dtype?: FloatDtype } = {},
): Promise<TensorFileWriter> {
  if (typeof output !== "string") {
    throw new AdapterFilesError(
      "unsupported",
      "writing to a WritableStream needs @lycoris-ts/safetensors' streamed writer",
    );
  }
  return SafetensorsWriter.create(output, tensors, opts);
}
