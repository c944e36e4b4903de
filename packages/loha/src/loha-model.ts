import {
  type AdapterRegistry,
  defaultRegistry,
  type LoadPeftModelOptions,
  type Module,
  PeftModel,
  type PeftModelOptions,
  loadAdapter as runtimeLoadAdapter,
  loadPeftModel as runtimeLoadPeftModel,
} from "@lycoris-ts/runtime";
import type { LoHaConfig } from "./loha-config";
import { lohaVariant } from "./loha-variant";

/** Registers the LoHa variant (idempotent); needed only to load LoHa files through a registry by `peft_type`. */
export function registerLoHa(registry: AdapterRegistry = defaultRegistry): void {
  registry.register(lohaVariant);
}

/** PEFT's `LoHaModel`: a {@link PeftModel} whose first adapter is LoHa. */
export class LoHaModel extends PeftModel {
  constructor(model: Module, config: LoHaConfig, adapterName = "default", options: PeftModelOptions = {}) {
    registerLoHa(options.registry);
    super(model, config, adapterName, options);
  }
}

/**
 * PEFT's `get_peft_model` for LoHa: injects a LoHa adapter into `model` (in
 * place) at the modules `config` selects.
 */
export function getPeftModel(
  model: Module,
  config: LoHaConfig,
  adapterName = "default",
  options: PeftModelOptions = {},
): LoHaModel {
  return new LoHaModel(model, config, adapterName, options);
}

/** PEFT's `PeftModel.from_pretrained` with LoHa registered: loads a saved adapter directory into `model`. */
export function loadPeftModel(
  model: Module,
  dir: string,
  options: LoadPeftModelOptions = {},
): Promise<PeftModel> {
  registerLoHa(options.registry);
  return runtimeLoadPeftModel(model, dir, options);
}

/** PEFT's `load_adapter` with LoHa registered: adds the adapter saved in `dir` to `peft` as `name`. */
export function loadAdapter(
  peft: PeftModel,
  dir: string,
  name: string,
  options: { isTrainable?: boolean } = {},
): Promise<void> {
  registerLoHa(peft.registry);
  return runtimeLoadAdapter(peft, dir, name, options);
}
