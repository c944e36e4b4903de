import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { lohaVariant } from "@lycoris-ts/loha";
import { lokrVariant } from "@lycoris-ts/lokr";
import { AdapterRegistry } from "@lycoris-ts/runtime";
import { parseSafetensorsHeader, type TensorInfo } from "@lycoris-ts/safetensors";

/** The ComfyUI key-layout fixtures (see fixtures/lycoris-layouts/FORMAT.md and README.md). */
export const LAYOUTS = fileURLToPath(new URL("../../../fixtures/lycoris-layouts/", import.meta.url));

/**
 * The variants the layout fixtures hold (LoHa and LoKr, in the order ComfyUI's loader tries them: a
 * module with both is a LoKr), whose kohya tensor names the key map reads.
 */
export function keyMapRegistry(): AdapterRegistry {
  const registry = new AdapterRegistry();
  registry.register(lohaVariant);
  registry.register(lokrVariant);
  return registry;
}

export interface ExpectedSlice {
  readonly dim: number;
  readonly start: number;
  readonly size: number;
}

export interface ExpectedTarget {
  readonly comfy_key: { readonly key: string; readonly offset?: ExpectedSlice; readonly function?: string };
  readonly checkpoint: { readonly tensor: string; readonly offset?: ExpectedSlice } | null;
  readonly applied: boolean;
  readonly algo: string;
}

export interface ExpectedCase {
  readonly name: string;
  readonly family: string;
  readonly modules: Readonly<
    Record<string, { readonly file_keys: readonly string[]; readonly targets: readonly ExpectedTarget[] }>
  >;
  readonly not_loaded: readonly string[];
  readonly mapped_but_not_applied: readonly { readonly key: string; readonly offset?: ExpectedSlice }[];
  readonly patched_comfy_keys: Readonly<
    Record<
      string,
      {
        readonly checkpoint: Readonly<Record<string, string | number>>;
        readonly patches: readonly {
          readonly offset: readonly number[] | null;
          readonly function: string | null;
          readonly kind: string;
        }[];
      }
    >
  >;
  readonly patched_checkpoint_tensors: Readonly<Record<string, readonly string[]>>;
}

export interface IndexCase {
  readonly name: string;
  readonly family: string;
  readonly sliced_targets: number;
  readonly num_modules: number;
  readonly not_loaded: number;
  readonly mapped_but_not_applied: number;
}

export function indexCases(): IndexCase[] {
  return (JSON.parse(readFileSync(`${LAYOUTS}index.json`, "utf8")) as { cases: IndexCase[] }).cases;
}

export function expectedOf(name: string): ExpectedCase {
  return JSON.parse(readFileSync(`${LAYOUTS}${name}/expected.json`, "utf8")) as ExpectedCase;
}

/** The base checkpoint's tensor list (names, dtypes, shapes), from its header. */
export function baseTensors(name: string): readonly TensorInfo[] {
  return parseSafetensorsHeader(new Uint8Array(readFileSync(`${LAYOUTS}${name}/base.safetensors`))).tensors;
}

export function adapterNames(name: string): string[] {
  const bytes = new Uint8Array(readFileSync(`${LAYOUTS}${name}/adapter.safetensors`));
  return parseSafetensorsHeader(bytes).tensors.map((t) => t.name);
}
