import { createModuleMatcher, type LycorisConfig, parseAdapterConfigJson } from "@lycoris-ts/lycoris-config";
import type { AdapterRegistry, AdapterVariant } from "@lycoris-ts/runtime";
import { AdapterFilesError } from "./adapter-files-error";
import { type FileInput, inputName, readText } from "./file-input";

/** A parsed and validated `adapter_config.json`. */
export interface AdapterConfigFile {
  /** The file's JSON object, snake_case keys as written. */
  readonly json: Readonly<Record<string, unknown>>;
  /** `peft_type` as written. */
  readonly peftType: string;
  /** The variant registered for `peft_type`. */
  readonly variant: AdapterVariant<LycorisConfig>;
  /** The config object the variant builds from the file (PEFT's defaults filled in). */
  readonly config: LycorisConfig;
}

/**
 * Reads `adapter_config.json`, looks its `peft_type` up in `registry` and builds the variant's
 * config (which validates every field).
 *
 * @throws AdapterFilesError (unreadable file, invalid JSON), AdapterError `unknown_peft_type`
 *   (listing the registered types), LycorisConfigError (invalid field); messages start with the file.
 */
export async function readAdapterConfigFile(
  input: FileInput,
  registry: AdapterRegistry,
): Promise<AdapterConfigFile> {
  const path = inputName(input);
  const text = await readText(input);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AdapterFilesError("input", `${path}: invalid JSON: ${(error as Error).message}`, {
      path,
      cause: error,
    });
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new AdapterFilesError("input", `${path}: expected a JSON object`, { path });
  }
  const record = json as Record<string, unknown>;
  try {
    const { peftType, options } = parseAdapterConfigJson(record);
    const variant = registry.get(peftType);
    const config = variant.createConfig(options);
    // Loading builds PEFT's module matcher from the config (compiling its regexes): so do validate / inspect.
    createModuleMatcher(config, config.targetModules ?? []);
    return { json: record, peftType, variant, config };
  } catch (error) {
    if (error instanceof Error) error.message = `${path}: ${error.message}`;
    throw error;
  }
}
