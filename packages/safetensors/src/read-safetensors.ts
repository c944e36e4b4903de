import { blobSource } from "./byte-source";
import { ioError, withPath } from "./io-error";
import { nodeFs, nodeFsPromises } from "./node-builtins";
import {
  type ParseSafetensorsOptions,
  parseSafetensors,
  type SafetensorsContents,
} from "./parse-safetensors";
import { SafetensorsError } from "./safetensors-error";

/** A failed read as a `SafetensorsError` whose message starts with the file's name. */
const readError = (name: string, cause: unknown): unknown =>
  cause instanceof SafetensorsError ? withPath(name, cause) : ioError(name, "a readable file", cause);

/** `parseSafetensors`, its errors prefixed with the file's name. */
function parseNamed(name: string, bytes: Uint8Array, opts: ParseSafetensorsOptions): SafetensorsContents {
  try {
    return parseSafetensors(bytes, opts);
  } catch (error) {
    throw withPath(name, error);
  }
}

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
    throw readError(path, cause);
  }
  return parseNamed(path, bytes, opts);
}

/**
 * Reads and decodes a whole safetensors file (see `parseSafetensors`): a path (Node.js) or a
 * `Blob` / `File` (browsers and Node). For large files read tensor by tensor, use
 * `SafetensorsReader`.
 *
 * @throws SafetensorsError (`io` when the file cannot be read; messages start with the path or
 *   the File's name).
 */
export async function readSafetensors(
  file: string | Blob,
  opts: ParseSafetensorsOptions = {},
): Promise<SafetensorsContents> {
  const source = typeof file === "string" ? null : blobSource(file);
  const name = source?.name ?? (file as string);
  let bytes: Uint8Array;
  try {
    bytes = source === null ? await nodeFsPromises().readFile(name) : await source.read(0, source.size);
  } catch (cause) {
    throw readError(name, cause);
  }
  return parseNamed(name, bytes, opts);
}
