import { type Module, PeftModel, type PeftModelOptions, variantEntryPoints } from "@lycoris-ts/runtime";
import type { LoKrConfig } from "./lokr-config";
import { lokrVariant } from "./lokr-variant";

const entryPoints = /* @__PURE__ */ variantEntryPoints(lokrVariant);

/** Registers the LoKr variant (idempotent); needed only to load LoKr files through a registry by `peft_type`. */
export const registerLoKr = entryPoints.register;

/** PEFT's `PeftModel.from_pretrained` with LoKr registered: loads a saved adapter directory into `model`. */
export const loadPeftModel = entryPoints.loadPeftModel;

/** PEFT's `load_adapter` with LoKr registered: adds the adapter saved in `dir` to `peft` as `name`. */
export const loadAdapter = entryPoints.loadAdapter;

/** PEFT's `LoKrModel`: a {@link PeftModel} whose first adapter is LoKr (the config carries its variant). */
export class LoKrModel extends PeftModel {
  constructor(model: Module, config: LoKrConfig, adapterName = "default", options: PeftModelOptions = {}) {
    super(model, config, adapterName, options);
  }
}

/** PEFT's `get_peft_model` for LoKr: injects a LoKr adapter into `model` (in place) at the modules `config` selects. */
export function getPeftModel(
  model: Module,
  config: LoKrConfig,
  adapterName = "default",
  options: PeftModelOptions = {},
): LoKrModel {
  return new LoKrModel(model, config, adapterName, options);
}
