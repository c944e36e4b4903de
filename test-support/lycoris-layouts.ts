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

/** One target of expected.json's `modules[key].targets`. */
export type LayoutsTarget = LayoutsExpected["modules"][string]["targets"][number];

/** A key-map target in one comparable form (ComfyUI key, offset, function; checkpoint tensor, rows; applied; kind). */
export interface ComparableTarget {
  readonly comfy: {
    readonly key: string;
    readonly offset: Slice | null;
    readonly function: string | null;
  };
  readonly checkpoint: { readonly tensor: string; readonly offset: Slice | null } | null;
  readonly applied: boolean;
  readonly algo: string | null;
}

interface Slice {
  readonly dim: number;
  readonly start: number;
  readonly size: number;
}

/** An expected.json target in the comparable form. */
export function fixtureTarget(t: LayoutsTarget): ComparableTarget {
  return {
    comfy: {
      key: t.comfy_key.key,
      offset: t.comfy_key.offset ?? null,
      function: t.comfy_key.function ?? null,
    },
    checkpoint:
      t.checkpoint === null ? null : { tensor: t.checkpoint.tensor, offset: t.checkpoint.offset ?? null },
    applied: t.applied,
    algo: t.algo,
  };
}

/** A target of lycoris-format's key map (`KeyMapEntry.targets[i]`, of an entry of kind `kind`) in the comparable form. */
export function keyMapTarget(
  kind: string | null,
  t: {
    readonly comfyKey: string;
    readonly comfyOffset: Slice | null;
    readonly function: string | null;
    readonly tensor: string | null;
    readonly slice: Slice | null;
    readonly applied: boolean;
  },
): ComparableTarget {
  return {
    comfy: { key: t.comfyKey, offset: t.comfyOffset, function: t.function },
    checkpoint: t.tensor === null ? null : { tensor: t.tensor, offset: t.slice },
    applied: t.applied,
    algo: kind,
  };
}
