import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The ComfyUI key-layout fixtures (trimmed: base.header.json instead of base.safetensors). */
export const LAYOUTS = fileURLToPath(new URL("../fixtures/lycoris-layouts/", import.meta.url));

/**
 * A lycoris-layouts case's base checkpoint as a `.safetensors` file: its `base.safetensors` where the
 * copy has one, else one written to `dir` from the stored `base.header.json` (every real name, dtype,
 * shape and offset) with zeros as data. Placement and layout conversion read headers only.
 */
export function layoutsBaseFile(name: string, dir: string): string {
  const full = join(LAYOUTS, name, "base.safetensors");
  if (existsSync(full)) return full;
  const json = readFileSync(join(LAYOUTS, name, "base.header.json"));
  const header = JSON.parse(json.toString("utf8")) as Record<string, { data_offsets?: [number, number] }>;
  const dataBytes = Math.max(0, ...Object.values(header).map((t) => t.data_offsets?.[1] ?? 0));
  const padded = Math.ceil(json.length / 8) * 8;
  const bytes = new Uint8Array(8 + padded + dataBytes);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(padded), true);
  bytes.fill(0x20, 8, 8 + padded);
  bytes.set(json, 8);
  const path = join(dir, `${name}.base.safetensors`);
  writeFileSync(path, bytes);
  return path;
}

/** A lycoris-layouts case's expected.json: ComfyUI's key map (see FORMAT.md "expected.json"). */
export interface LayoutsExpected {
  readonly modules: Readonly<
    Record<
      string,
      {
        readonly file_keys: readonly string[];
        readonly targets: readonly {
          readonly comfy_key: {
            readonly key: string;
            readonly offset?: { dim: number; start: number; size: number };
            readonly function?: string;
          };
          readonly checkpoint: {
            readonly tensor: string;
            readonly offset?: { dim: number; start: number; size: number };
          } | null;
          readonly applied: boolean;
          readonly algo: string;
        }[];
      }
    >
  >;
  readonly not_loaded: readonly string[];
}

export function layoutsExpected(name: string): LayoutsExpected {
  return JSON.parse(readFileSync(join(LAYOUTS, name, "expected.json"), "utf8")) as LayoutsExpected;
}

/** The case names of fixtures/lycoris-layouts, in index.json order. */
export function layoutsCases(): string[] {
  const index = JSON.parse(readFileSync(join(LAYOUTS, "index.json"), "utf8")) as {
    cases: { name: string }[];
  };
  return index.cases.map((c) => c.name);
}
