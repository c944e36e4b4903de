import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { SafetensorsReader } from "@lycoris-ts/runtime";
import { CliError } from "./cli-error";
import { detectKeyNaming, type GroupedAdapterTensors, groupAdapterTensors } from "./group-adapter-tensors";
import type { AdapterLocation } from "./locate-adapters";
import { type AdapterConfigFile, readAdapterConfigFile } from "./read-adapter-config";

/** One adapter opened for lazy reading: its config (if any), an open reader on its weights, its tensors by module. */
export interface OpenedAdapter {
  readonly location: AdapterLocation;
  /** The parsed config, or `null` for a bare safetensors file. */
  readonly configFile: AdapterConfigFile | null;
  /** Open reader on the weights file (header validated, no tensor data read yet). */
  readonly reader: SafetensorsReader;
  readonly groups: GroupedAdapterTensors;
}

/**
 * Opens one adapter: parses and validates its config, opens its weights file (header only) and
 * groups its tensors by module. Close it with `reader.close()`.
 *
 * @throws CliError, SafetensorsError, AdapterError (`unknown_peft_type`), LycorisConfigError.
 */
export async function openAdapter(
  location: AdapterLocation,
  registry: AdapterRegistry,
): Promise<OpenedAdapter> {
  const configFile =
    location.configPath === null ? null : await readAdapterConfigFile(location.configPath, registry);
  const reader = await SafetensorsReader.open(location.weightsPath);
  try {
    const names = reader.names;
    const naming = detectKeyNaming(names, registry) ?? (configFile !== null ? "peft" : null);
    if (naming === null) {
      throw new CliError(
        "input",
        `${location.weightsPath}: not an adapter file: no tensor is named like base_model.model.<module>.<param> (PEFT) or lycoris_<module>.<param> (kohya/LyCORIS)`,
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

/** Closes every adapter's reader. */
export async function closeAdapters(adapters: readonly OpenedAdapter[]): Promise<void> {
  await Promise.all(adapters.map((a) => a.reader.close().catch(() => undefined)));
}
