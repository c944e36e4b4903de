import { readFile } from "node:fs/promises";
import { type LycorisConfig, parseAdapterConfigJson } from "@lycoris-ts/lycoris-config";
import type { AdapterRegistry, AdapterVariant } from "@lycoris-ts/runtime";
import { CliError } from "./cli-error";

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
 * @throws CliError (unreadable file, invalid JSON), AdapterError `unknown_peft_type` (listing the
 *   registered types), LycorisConfigError (invalid field); messages start with the path.
 */
export async function readAdapterConfigFile(
  path: string,
  registry: AdapterRegistry,
): Promise<AdapterConfigFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new CliError("input", `${path}: cannot read (${typeof code === "string" ? code : String(error)})`, {
      cause: error,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliError("input", `${path}: invalid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new CliError("input", `${path}: expected a JSON object`);
  }
  const record = json as Record<string, unknown>;
  try {
    const { peftType, options } = parseAdapterConfigJson(record);
    const variant = registry.get(peftType);
    const config = variant.createConfig(options);
    return { json: record, peftType, variant, config };
  } catch (error) {
    if (error instanceof Error) error.message = `${path}: ${error.message}`;
    throw error;
  }
}
