import { SafetensorsError } from "@lycoris-ts/safetensors";
import { AdapterFilesError } from "./adapter-files-error";
import { type BaseInput, inputName, isShardedFiles } from "./file-input";
import { nodeFs } from "./node-builtins";
import { findIndexFile, openShardedTensorFile } from "./sharded-tensor-file";
import { openTensorFile, type TensorFile } from "./tensor-file";

/**
 * Checks that a base model path names a file, or a directory holding a sharded checkpoint's
 * `*.safetensors.index.json` (a Blob or a sharded checkpoint's files always pass).
 *
 * @throws AdapterFilesError `not_found` / `input`.
 */
export async function checkBaseModel(base: BaseInput): Promise<void> {
  if (typeof base !== "string") return;
  if ((await findIndexFile(base)) !== null && !base.endsWith(".json")) return;
  const s = await nodeFs()
    .stat(base)
    .catch(() => null);
  if (s === null)
    throw new AdapterFilesError("not_found", `${base}: no such file (the base model)`, { path: base });
  if (!s.isFile()) {
    throw new AdapterFilesError(
      "input",
      `${base}: not a file (the base model must be a .safetensors file, a *.safetensors.index.json or a directory holding one)`,
      {
        path: base,
      },
    );
  }
}

/**
 * Opens a base model (headers only): one safetensors file, or a sharded checkpoint given by its
 * `*.safetensors.index.json`, the directory holding it, or its files (see `openShardedTensorFile`).
 *
 * @throws AdapterFilesError `not_found` when it cannot be opened, `input` for a malformed index;
 *   SafetensorsError when malformed.
 */
export async function openBaseModel(base: BaseInput): Promise<TensorFile> {
  try {
    if (isShardedFiles(base)) return await openShardedTensorFile(base);
    const index = typeof base === "string" ? await findIndexFile(base) : null;
    if (index !== null) return await openShardedTensorFile(index);
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
