import { type Module, PeftModel, type PeftModelOptions, variantEntryPoints } from "@lycoris-ts/runtime";
import type { LoHaConfig } from "./loha-config";
import { lohaVariant } from "./loha-variant";

const entryPoints = /* @__PURE__ */ variantEntryPoints(lohaVariant);

/** Registers the LoHa variant (idempotent); needed only to load LoHa files through a registry by `peft_type`. */
export const registerLoHa = entryPoints.register;

/** PEFT's `PeftModel.from_pretrained` with LoHa registered: loads a saved adapter directory into `model`. */
export const loadPeftModel = entryPoints.loadPeftModel;

/** PEFT's `load_adapter` with LoHa registered: adds the adapter saved in `dir` to `peft` as `name`. */
export const loadAdapter = entryPoints.loadAdapter;

/** PEFT's `LoHaModel`: a {@link PeftModel} whose first adapter is LoHa (the config carries its variant). */
export class LoHaModel extends PeftModel {
  constructor(model: Module, config: LoHaConfig, adapterName = "default", options: PeftModelOptions = {}) {
    super(model, config, adapterName, options);
  }
}

/** PEFT's `get_peft_model` for LoHa: injects a LoHa adapter into `model` (in place) at the modules `config` selects. */
export function getPeftModel(
  model: Module,
  config: LoHaConfig,
  adapterName = "default",
  options: PeftModelOptions = {},
): LoHaModel {
  return new LoHaModel(model, config, adapterName, options);
}
