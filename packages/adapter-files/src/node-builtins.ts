import type * as Fs from "node:fs/promises";
import type * as Path from "node:path";
import { AdapterFilesError } from "./adapter-files-error";

interface Builtins {
  "node:fs/promises": typeof Fs;
  "node:path": typeof Path;
}

/**
 * A Node.js built-in, fetched when a path is actually used (`process.getBuiltinModule`) rather
 * than imported, so that the package bundles for browsers, where inputs are Blobs / Files.
 */
function builtin<K extends keyof Builtins>(id: K): Builtins[K] {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const mod = proc?.getBuiltinModule?.(id);
  if (mod === undefined) {
    throw new AdapterFilesError(
      "unsupported",
      `file paths need Node.js >= 20.16 (${id}); in a browser, pass Blob / File inputs and WritableStream outputs`,
    );
  }
  return mod as Builtins[K];
}

/** `node:fs/promises`, loaded on first use. */
export const nodeFs = (): typeof Fs => builtin("node:fs/promises");
/** `node:path`, loaded on first use. */
export const nodePath = (): typeof Path => builtin("node:path");

/** The `code` of a Node.js system error (`ENOENT`, …), if any. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}
