import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { AdapterFilesError } from "./adapter-files-error";
import { detectKeyNaming, type GroupedAdapterTensors, groupAdapterTensors } from "./group-adapter-tensors";
import type { AdapterLocation } from "./locate-adapters";
import { type AdapterConfigFile, readAdapterConfigFile } from "./read-adapter-config";
import { openTensorFile, type TensorFile } from "./tensor-file";

/** One adapter opened for lazy reading: its config (if any), its weights file, its tensors by module. */
export interface OpenedAdapter {
  readonly location: AdapterLocation;
  /** The parsed config, or `null` for a bare safetensors file. */
  readonly configFile: AdapterConfigFile | null;
  /** The weights file, open (header validated, no tensor data read yet). */
  readonly reader: TensorFile;
  readonly groups: GroupedAdapterTensors;
}

/**
 * Opens one adapter: parses and validates its config, opens its weights file (header only) and
 * groups its tensors by module. Close it with `reader.close()` (or {@link closeAdapters}).
 *
 * @throws AdapterFilesError, SafetensorsError, AdapterError (`unknown_peft_type`), LycorisConfigError.
 */
export async function openAdapter(
  location: AdapterLocation,
  registry: AdapterRegistry,
): Promise<OpenedAdapter> {
  const configFile = location.config === null ? null : await readAdapterConfigFile(location.config, registry);
  const reader = await openTensorFile(location.weights);
  try {
    const naming = detectKeyNaming(reader.names, registry) ?? (configFile !== null ? "peft" : null);
    if (naming === null) {
      throw new AdapterFilesError(
        "input",
        `${reader.path}: not an adapter file: no tensor is named like base_model.model.<module>.<param> (PEFT) or <prefix>_<module>.<tensor> of a registered variant (kohya/LyCORIS)`,
        { path: reader.path },
      );
    }
    return {
      location,
      configFile,
      reader,
      groups: groupAdapterTensors(reader.header.tensors, naming, registry),
    };
  } catch (error) {
    await reader.close();
    throw error;
  }
}

/** Opens several adapters; on a failure, closes the ones already open. */
export async function openAdapters(
  locations: readonly AdapterLocation[],
  registry: AdapterRegistry,
): Promise<OpenedAdapter[]> {
  const opened: OpenedAdapter[] = [];
  try {
    for (const loc of locations) opened.push(await openAdapter(loc, registry));
    return opened;
  } catch (error) {
    await closeAdapters(opened);
    throw error;
  }
}

/** Closes every adapter's weights file. */
export async function closeAdapters(adapters: readonly OpenedAdapter[]): Promise<void> {
  await Promise.all(adapters.map((a) => a.reader.close().catch(() => undefined)));
}
