import type { Tensor } from "@lycoris-ts/kernels";
import { parseSafetensors, SafetensorsError } from "@lycoris-ts/safetensors";
import { AdapterFilesError } from "./adapter-files-error";
import { type FileInput, readBytes } from "./file-input";

/**
 * A single-file adapter's tensors (read whole: adapters are small next to the base).
 *
 * @throws AdapterFilesError (`input`) naming the file when it is not a safetensors file.
 */
export async function readAdapterFile(
  input: FileInput,
  label: string,
): Promise<ReadonlyMap<string, Tensor<Float32Array>>> {
  const bytes = await readBytes(input);
  try {
    return parseSafetensors(bytes).tensors;
  } catch (error) {
    if (!(error instanceof SafetensorsError)) throw error;
    throw new AdapterFilesError(
      "input",
      `${label}: not a safetensors adapter file (${error.message}); an adapter is one .safetensors file or a PEFT adapter directory`,
      { path: label, cause: error },
    );
  }
}
