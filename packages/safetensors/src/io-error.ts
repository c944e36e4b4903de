import { SafetensorsError } from "./safetensors-error";

/** Wraps a file-system (or stream) error as a `SafetensorsError` of kind `io` naming the path. */
export function ioError(path: string, expected: string, cause: unknown): SafetensorsError {
  const code = (cause as { code?: unknown } | null)?.code;
  const received = typeof code === "string" ? code : cause instanceof Error ? cause.message : String(cause);
  return new SafetensorsError("io", path, expected, received, { cause, path });
}

/** Prefixes a `SafetensorsError`'s message with the file it is about (once). */
export function withPath(path: string, error: unknown): unknown {
  if (error instanceof SafetensorsError && !error.message.startsWith(`${path}: `)) {
    error.message = `${path}: ${error.message}`;
  }
  return error;
}
