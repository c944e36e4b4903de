import { type Module, PeftModel, type PeftModelOptions, variantEntryPoints } from "@lycoris-ts/runtime";
import type { LoraConfig } from "./lora-config";
import { loraVariant } from "./lora-variant";

const entryPoints = /* @__PURE__ */ variantEntryPoints(loraVariant);

/** Registers the LoRA variant (idempotent); needed only to load LoRA files through a registry by `peft_type`. */
export const registerLora = entryPoints.register;

/** PEFT's `PeftModel.from_pretrained` with LoRA registered: loads a saved adapter directory into `model`. */
export const loadPeftModel = entryPoints.loadPeftModel;

/** PEFT's `load_adapter` with LoRA registered: adds the adapter saved in `dir` to `peft` as `name`. */
export const loadAdapter = entryPoints.loadAdapter;

/** PEFT's `LoraModel`: a {@link PeftModel} whose first adapter is LoRA (the config carries its variant). */
export class LoraModel extends PeftModel {
  constructor(model: Module, config: LoraConfig, adapterName = "default", options: PeftModelOptions = {}) {
    super(model, config, adapterName, options);
  }
}

/** PEFT's `get_peft_model` for LoRA: injects a LoRA adapter into `model` (in place) at the modules `config` selects. */
export function getPeftModel(
  model: Module,
  config: LoraConfig,
  adapterName = "default",
  options: PeftModelOptions = {},
): LoraModel {
  return new LoraModel(model, config, adapterName, options);
}
