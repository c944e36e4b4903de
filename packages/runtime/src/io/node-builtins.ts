import type * as FsPromises from "node:fs/promises";
import type * as Path from "node:path";
import { AdapterFileError } from "./adapter-file-error";

interface Builtins {
  "node:fs/promises": typeof FsPromises;
  "node:path": typeof Path;
}

/**
 * A Node.js built-in module, fetched when file IO is actually used
 * (`process.getBuiltinModule`, Node >= 20.16) rather than imported: the
 * package then bundles for browsers, where everything but adapter
 * directories works (safetensors bytes and Blobs: `@lycoris-ts/safetensors`).
 */
function builtin<K extends keyof Builtins>(id: K): Builtins[K] {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const mod = proc?.getBuiltinModule?.(id);
  if (mod === undefined) {
    throw new AdapterFileError(
      "io",
      "<file system>",
      `file access needs Node.js >= 20.16 (${id}); in a browser, read the bytes yourself and use parseSafetensors / serializeSafetensors`,
    );
  }
  return mod as Builtins[K];
}

/** `node:fs/promises`, loaded on first use. */
export const nodeFsPromises = (): typeof FsPromises => builtin("node:fs/promises");
/** `node:path`, loaded on first use. */
export const nodePath = (): typeof Path => builtin("node:path");
