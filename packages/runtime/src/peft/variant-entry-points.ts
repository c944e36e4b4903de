import type { LycorisConfig } from "@lycoris-ts/lycoris-config";
import type { Module } from "../model/module";
import { type AdapterRegistry, defaultRegistry } from "../registry/adapter-registry";
import type { AdapterVariant } from "../registry/adapter-variant";
import { type LoadPeftModelOptions, loadAdapter, loadPeftModel } from "./adapter-directory";
import type { PeftModel } from "./peft-model";

/** The file entry points of one variant package, registering the variant before they need it. */
export interface VariantEntryPoints {
  /** Registers the variant (idempotent); needed only to load its files through a registry by `peft_type`. */
  register(registry?: AdapterRegistry): void;
  /** PEFT's `PeftModel.from_pretrained` with the variant registered. */
  loadPeftModel(model: Module, dir: string, options?: LoadPeftModelOptions): Promise<PeftModel>;
  /** PEFT's `load_adapter` with the variant registered. */
  loadAdapter(peft: PeftModel, dir: string, name: string, options?: { isTrainable?: boolean }): Promise<void>;
}

/**
 * Builds the `register` / `loadPeftModel` / `loadAdapter` functions a variant
 * package exports, so that using them never depends on an import-time
 * registration.
 */
export function variantEntryPoints<C extends LycorisConfig>(variant: AdapterVariant<C>): VariantEntryPoints {
  const register = (registry: AdapterRegistry = defaultRegistry) => registry.register(variant);
  return {
    register,
    loadPeftModel(model, dir, options = {}) {
      register(options.registry);
      return loadPeftModel(model, dir, options);
    },
    loadAdapter(peft, dir, name, options = {}) {
      register(peft.registry);
      return loadAdapter(peft, dir, name, options);
    },
  };
}
