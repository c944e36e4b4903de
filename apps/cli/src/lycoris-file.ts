import { readFile, stat } from "node:fs/promises";
import { isLycorisKeyNaming, type LycorisAdapter, readLycorisAdapter } from "@lycoris-ts/lycoris-format";
import { type AdapterRegistry, SafetensorsReader } from "@lycoris-ts/runtime";
import { CliError } from "./cli-error";

/**
 * Parses `--prefix-map lora_unet=unet,lora_te=text_encoder` (a root may be empty: `lora_unet=`
 * for a base file that holds only the UNet, without a `unet.` prefix).
 *
 * @throws CliError `usage` for malformed entries.
 */
export function parsePrefixMap(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)) {
    const eq = part.indexOf("=");
    const prefix = eq < 0 ? "" : part.slice(0, eq).trim();
    if (eq < 0 || !/^[A-Za-z0-9]+(_[A-Za-z0-9]+)*$/.test(prefix)) {
      throw new CliError("usage", `--prefix-map: expected <prefix>=<sub-model root>, got '${part}'`);
    }
    out[prefix] = part.slice(eq + 1).trim();
  }
  return out;
}

/** Whether `path` is a single safetensors file with kohya / LyCORIS key names of a registered variant (header only). */
export async function isLycorisFile(path: string, registry: AdapterRegistry): Promise<boolean> {
  const s = await stat(path).catch(() => null);
  if (s === null || !s.isFile()) return false;
  let reader: SafetensorsReader;
  try {
    reader = await SafetensorsReader.open(path);
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
export function baseModuleNames(base: SafetensorsReader): string[] {
  return base.header.tensors
    .filter((t) => t.name.endsWith(".weight"))
    .map((t) => t.name.slice(0, -".weight".length));
}

/**
 * Reads a LyCORIS-format adapter file against a base model file's module names.
 *
 * @throws CliError (`input`) when the file cannot be read; LycorisFormatError, SafetensorsError.
 */
export async function readLycorisFile(
  path: string,
  base: SafetensorsReader,
  registry: AdapterRegistry,
  prefixes: Readonly<Record<string, string>> | undefined,
): Promise<LycorisAdapter> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (error) {
    throw new CliError("input", `${path}: cannot read the adapter file (${(error as Error).message})`);
  }
  return readLycorisAdapter(bytes, {
    moduleNames: baseModuleNames(base),
    registry,
    ...(prefixes === undefined ? {} : { prefixes }),
  });
}
