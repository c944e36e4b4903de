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
import type { LoKrConfig } from "./lokr-config";
import { lokrVariant } from "./lokr-variant";

/** Registers the LoKr variant (idempotent); needed only to load LoKr files through a registry by `peft_type`. */
export function registerLoKr(registry: AdapterRegistry = defaultRegistry): void {
  registry.register(lokrVariant);
}

/** PEFT's `LoKrModel`: a {@link PeftModel} whose first adapter is LoKr. */
export class LoKrModel extends PeftModel {
  constructor(model: Module, config: LoKrConfig, adapterName = "default", options: PeftModelOptions = {}) {
    registerLoKr(options.registry);
    super(model, config, adapterName, options);
  }
}

/**
 * PEFT's `get_peft_model` for LoKr: injects a LoKr adapter into `model` (in
 * place) at the modules `config` selects.
 */
export function getPeftModel(
  model: Module,
  config: LoKrConfig,
  adapterName = "default",
  options: PeftModelOptions = {},
): LoKrModel {
  return new LoKrModel(model, config, adapterName, options);
}

/** PEFT's `PeftModel.from_pretrained` with LoKr registered: loads a saved adapter directory into `model`. */
export function loadPeftModel(
  model: Module,
  dir: string,
  options: LoadPeftModelOptions = {},
): Promise<PeftModel> {
  registerLoKr(options.registry);
  return runtimeLoadPeftModel(model, dir, options);
}

/** PEFT's `load_adapter` with LoKr registered: adds the adapter saved in `dir` to `peft` as `name`. */
export function loadAdapter(
  peft: PeftModel,
  dir: string,
  name: string,
  options: { isTrainable?: boolean } = {},
): Promise<void> {
  registerLoKr(peft.registry);
  return runtimeLoadAdapter(peft, dir, name, options);
}
