import { SafetensorsError } from "@lycoris-ts/safetensors";
import { AdapterFilesError } from "./adapter-files-error";
import { type FileInput, inputName } from "./file-input";
import { nodeFs } from "./node-builtins";
import { openTensorFile, type TensorFile } from "./tensor-file";

/**
 * Checks that a base model path names a file (a Blob always does).
 *
 * @throws AdapterFilesError `not_found` / `input`.
 */
export async function checkBaseModel(base: FileInput): Promise<void> {
  if (typeof base !== "string") return;
  const s = await nodeFs()
    .stat(base)
    .catch(() => null);
  if (s === null)
    throw new AdapterFilesError("not_found", `${base}: no such file (the base model)`, { path: base });
  if (!s.isFile()) {
    throw new AdapterFilesError("input", `${base}: not a file (the base model must be a .safetensors file)`, {
      path: base,
    });
  }
}

/**
 * Opens a base model's safetensors file (header only).
 *
 * @throws AdapterFilesError `not_found` when it cannot be opened; SafetensorsError when malformed.
 */
export async function openBaseModel(base: FileInput): Promise<TensorFile> {
  try {
    return await openTensorFile(base);
  } catch (error) {
    if (error instanceof SafetensorsError && error.kind === "io") {
      const path = inputName(base);
      throw new AdapterFilesError(
        "not_found",
        `${path}: cannot open the base model (no such file or not readable)`,
        {
          path,
          cause: error,
        },
      );
    }
    throw error;
  }
}
