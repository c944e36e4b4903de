import { adapterConfigToJson, type LycorisConfig, parseAdapterConfigJson } from "@lycoris-ts/lycoris-config";
import { readPeftAdapterDir, writePeftAdapterDir } from "../io/index";
import { nodePath } from "../io/node-builtins";
import type { Module } from "../model/module";
import { defaultRegistry } from "../registry/adapter-registry";
import { adapterStateDict, loadAdapterStateDict } from "./adapter-state-dict";
import { PeftModel, type PeftModelOptions } from "./peft-model";

/**
 * Saves adapters as PEFT does (`save_pretrained`): `adapter_config.json` +
 * `adapter_model.safetensors` for "default" in `dir`, every other adapter in
 * `dir/<name>/`. Files are written atomically.
 */
export async function savePeftAdapter(
  peft: PeftModel,
  dir: string,
  options: { adapterNames?: readonly string[] } = {},
): Promise<void> {
  const names = options.adapterNames ?? [...peft.peftConfig.keys()];
  const adapters = names.map((name) => {
    const config = peft.peftConfig.get(name)!;
    return {
      name,
      configJson: adapterConfigToJson(config, { resolvedTargetModules: peft.resolvedTargetModulesOf(name) }),
      weights: adapterStateDict(peft, name),
    };
  });
  await writePeftAdapterDir(dir, adapters);
}

/** Options of {@link loadPeftModel}. */
export interface LoadPeftModelOptions extends PeftModelOptions {
  /** Name for the loaded adapter (default `"default"`). */
  readonly adapterName?: string;
  /** Keep the adapter trainable (default false: eval mode, adapter frozen, as PEFT's `is_trainable=False`). */
  readonly isTrainable?: boolean;
}

/** Reads the config of a PEFT adapter directory and builds its variant's config object. */
export async function readAdapterConfig(
  dir: string,
  options: Pick<PeftModelOptions, "registry"> = {},
): Promise<LycorisConfig> {
  const [files] = await readPeftAdapterDir(dir, { adapterNames: ["default"] });
  return configFromJson(files!.config, options);
}

function configFromJson(
  json: Record<string, unknown>,
  options: Pick<PeftModelOptions, "registry">,
): LycorisConfig {
  const { peftType, options: camel } = parseAdapterConfigJson(json);
  const registry = options.registry ?? defaultRegistry;
  return registry.get(peftType).createConfig(camel);
}

/**
 * PEFT's `PeftModel.from_pretrained`: injects the adapter saved in `dir` into
 * `model` and loads its weights (shapes checked against the model).
 */
export async function loadPeftModel(
  model: Module,
  dir: string,
  options: LoadPeftModelOptions = {},
): Promise<PeftModel> {
  const [files] = await readPeftAdapterDir(dir, { adapterNames: ["default"] });
  const config = configFromJson(files!.config, options);
  const name = options.adapterName ?? "default";
  const peft = new PeftModel(model, config, name, options);
  loadAdapterStateDict(peft, name, files!.weights);
  if (!options.isTrainable) freeze(peft, name);
  return peft;
}

/** PEFT's `load_adapter`: adds the adapter saved in `dir` to `peft` under `name` (not activated). */
export async function loadAdapter(
  peft: PeftModel,
  dir: string,
  name: string,
  options: { isTrainable?: boolean } = {},
): Promise<void> {
  const [files] = await readPeftAdapterDir(dir, { adapterNames: ["default"] });
  const config = configFromJson(files!.config, { registry: peft.registry });
  peft.addAdapter(name, config);
  loadAdapterStateDict(peft, name, files!.weights);
  if (!options.isTrainable) freeze(peft, name);
}

function freeze(peft: PeftModel, name: string): void {
  peft.eval();
  for (const [, layer] of peft.adapterLayers())
    for (const p of layer.parametersOf(name).values()) p.requiresGrad = false;
  for (const [, w] of peft.modulesToSaveWrappers()) {
    const copy = w.copyOf(name);
    if (copy) for (const p of copy.parameters()) p.requiresGrad = false;
  }
}

/** The directory of adapter `name` inside a saved PEFT directory. */
export function adapterSubdir(dir: string, name: string): string {
  return name === "default" ? dir : nodePath().join(dir, name);
}
