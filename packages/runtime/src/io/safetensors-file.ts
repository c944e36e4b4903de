import { nodeFs, nodeFsPromises } from "./node-builtins";
import { SafetensorsError } from "./safetensors-error";
import {
  type ParseSafetensorsOptions,
  parseSafetensors,
  type SafetensorsContents,
} from "./safetensors-parse";
import { type SerializeOptions, serializeSafetensors, type TensorsToWrite } from "./safetensors-serialize";
import { writeFileAtomic } from "./write-file-atomic";

/** Wraps a Node.js file-system error as a `SafetensorsError` of kind `io` naming the path. */
export function ioError(path: string, expected: string, cause: unknown): SafetensorsError {
  const code = (cause as { code?: unknown } | null)?.code;
  const received = typeof code === "string" ? code : cause instanceof Error ? cause.message : String(cause);
  return new SafetensorsError("io", path, expected, received, { cause, path });
}

function withPath(path: string, error: unknown): unknown {
  if (error instanceof SafetensorsError && !error.message.startsWith(`${path}: `)) {
    error.message = `${path}: ${error.message}`;
  }
  return error;
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

/**
 * Serialises tensors (see `serializeSafetensors`) and writes them atomically to `path`: the
 * file is complete and fsynced before it replaces any previous file, and nothing is left behind
 * when serialisation or writing fails.
 *
 * @throws SafetensorsError (`io` for file-system failures).
 */
export async function writeSafetensors(
  path: string,
  tensors: TensorsToWrite,
  opts: SerializeOptions = {},
): Promise<void> {
  const bytes = serializeSafetensors(tensors, opts);
  try {
    await writeFileAtomic(path, bytes);
  } catch (cause) {
    throw ioError(path, "a writable file", cause);
  }
}
