import { isLycorisKeyNaming, type LycorisAdapter, readLycorisAdapter } from "@lycoris-ts/lycoris-format";
import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { type FileInput, readBytes } from "./file-input";
import { nodeFs } from "./node-builtins";
import { openTensorFile, type TensorFile } from "./tensor-file";

/**
 * Whether `input` is one safetensors file with kohya / LyCORIS key names of a registered variant
 * (lycoris-format's `isLycorisKeyNaming`; header only). `false` for directories and unreadable files.
 */
export async function isKohyaFile(input: FileInput, registry: AdapterRegistry): Promise<boolean> {
  if (typeof input === "string") {
    const s = await nodeFs()
      .stat(input)
      .catch(() => null);
    if (s === null || !s.isFile()) return false;
  }
  let reader: TensorFile;
  try {
    reader = await openTensorFile(input);
  } catch {
    return false;
  }
  try {
    return isLycorisKeyNaming(reader.names, registry);
  } finally {
    await reader.close();
  }
}

/** The module paths a base model file implies: every `<module>.weight` tensor, minus `.weight`. */
export function baseModuleNames(base: TensorFile): string[] {
  return base.header.tensors
    .filter((t) => t.name.endsWith(".weight"))
    .map((t) => t.name.slice(0, -".weight".length));
}

/**
 * Reads a kohya / LyCORIS-format adapter file against a base model file's module names.
 *
 * @throws AdapterFilesError (`input`) when the file cannot be read; LycorisFormatError, SafetensorsError.
 */
export async function readKohyaFile(
  input: FileInput,
  base: TensorFile,
  registry: AdapterRegistry,
  prefixes: Readonly<Record<string, string>> | undefined,
): Promise<LycorisAdapter> {
  return readLycorisAdapter(await readBytes(input), {
    moduleNames: baseModuleNames(base),
    registry,
    ...(prefixes === undefined ? {} : { prefixes }),
  });
}
