import { mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's fixture root (`/fixtures`), found relative to this file. */
export const FIXTURES = fileURLToPath(new URL("../../../../fixtures/", import.meta.url));
export const PEFT_FIXTURES = join(FIXTURES, "peft");
export const LYCORIS_FIXTURES = join(FIXTURES, "lycoris");

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
