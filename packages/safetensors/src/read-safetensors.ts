import { ioError, withPath } from "./io-error";
import { nodeFs, nodeFsPromises } from "./node-builtins";
import {
  type ParseSafetensorsOptions,
  parseSafetensors,
  type SafetensorsContents,
} from "./parse-safetensors";

/**
 * Reads and decodes a whole safetensors file synchronously (see `parseSafetensors`).
 *
 * @throws SafetensorsError (`io` when the file cannot be read; messages start with the path).
 */
export function readSafetensorsSync(path: string, opts: ParseSafetensorsOptions = {}): SafetensorsContents {
  let bytes: Uint8Array;
  try {
    bytes = nodeFs().readFileSync(path);
  } catch (cause) {
    throw ioError(path, "a readable file", cause);
  }
  try {
    return parseSafetensors(bytes, opts);
  } catch (error) {
    throw withPath(path, error);
  }
}

/**
 * Reads and decodes a whole safetensors file (see `parseSafetensors`). For large files read
 * tensor by tensor, use `SafetensorsReader`.
 *
 * @throws SafetensorsError (`io` when the file cannot be read; messages start with the path).
 */
export async function readSafetensors(
  path: string,
  opts: ParseSafetensorsOptions = {},
): Promise<SafetensorsContents> {
  let bytes: Uint8Array;
  try {
    bytes = await nodeFsPromises().readFile(path);
  } catch (cause) {
    throw ioError(path, "a readable file", cause);
  }
  try {
    return parseSafetensors(bytes, opts);
  } catch (error) {
    throw withPath(path, error);
  }
}
