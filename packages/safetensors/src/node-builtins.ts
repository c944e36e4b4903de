import type * as Crypto from "node:crypto";
import type * as Fs from "node:fs";
import type * as FsPromises from "node:fs/promises";
import type * as Path from "node:path";
import { SafetensorsError } from "./safetensors-error";

interface Builtins {
  "node:fs": typeof Fs;
  "node:fs/promises": typeof FsPromises;
  "node:path": typeof Path;
  "node:crypto": typeof Crypto;
}

/**
 * A Node.js built-in module, fetched when file IO is actually used
 * (`process.getBuiltinModule`, Node >= 20.16) rather than imported: the
 * package then bundles for browsers, where bytes and Blobs are read and
 * written without them.
 */
function builtin<K extends keyof Builtins>(id: K): Builtins[K] {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const mod = proc?.getBuiltinModule?.(id);
  if (mod === undefined) {
    throw new SafetensorsError(
      "io",
      "<file system>",
      "a path only where Node.js >= 20.16 runs; in a browser pass bytes, a Blob/File or a WritableStream",
      `file access needs Node.js (${id} is unavailable)`,
    );
  }
  return mod as Builtins[K];
}

/** `node:fs`, loaded on first use. */
export const nodeFs = (): typeof Fs => builtin("node:fs");
/** `node:fs/promises`, loaded on first use. */
export const nodeFsPromises = (): typeof FsPromises => builtin("node:fs/promises");
/** `node:path`, loaded on first use. */
export const nodePath = (): typeof Path => builtin("node:path");
/** `node:crypto`, loaded on first use. */
export const nodeCrypto = (): typeof Crypto => builtin("node:crypto");
