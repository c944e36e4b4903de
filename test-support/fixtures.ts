// Test helpers shared by the packages' tests: the repository's fixture files and hand-built
// safetensors bytes. Not part of any package.
import { mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's fixture root (`/fixtures`). */
export const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));
export const PEFT_FIXTURES = join(FIXTURES, "peft");
export const LYCORIS_FIXTURES = join(FIXTURES, "lycoris");

/** Every `*.safetensors` file below `root`, sorted. */
export function findSafetensorsFiles(root: string = FIXTURES): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".safetensors")) out.push(path);
    }
  };
  walk(root);
  return out;
}

/** The case directories of a fixture set (those holding a `model.json`). */
export function caseDirs(root: string): string[] {
  return readdirSync(root)
    .sort()
    .map((name) => join(root, name))
    .filter((path) => statSync(path).isDirectory());
}

/** A fresh temporary directory. */
export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `lycoris-io-${tag}-`));
}

/**
 * Builds a safetensors file by hand: `header` (an object, JSON-encoded, or a raw string), then
 * `data`. `headerLength` overrides the 8-byte length field (as a bigint, any u64 value).
 */
export function rawSafetensors(
  header: unknown,
  data: Uint8Array = new Uint8Array(0),
  opts: { headerLength?: bigint } = {},
): Uint8Array {
  const json = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, opts.headerLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Little-endian float32 bytes of `values`. */
export function f32Bytes(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => {
    view.setFloat32(4 * i, v, true);
  });
  return out;
}
