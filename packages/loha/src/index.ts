/**
 * LoHa (low-rank Hadamard product) adapters with PEFT's semantics and file
 * format. Everything LoHa needs is exported here: the config, the model API,
 * the model building blocks and the file IO of the shared runtime.
 */

export type { Tensor } from "@lycoris-ts/kernels";
export { createRng, tensor } from "@lycoris-ts/kernels";
export type { LycorisConfigOptions } from "@lycoris-ts/lycoris-config";
export { LycorisConfigError } from "@lycoris-ts/lycoris-config";
export type { AdapterVariant, LoadPeftModelOptions, PeftModelOptions } from "@lycoris-ts/runtime";
export {
  AdamW,
  AdapterError,
  AdapterRegistry,
  adapterStateDict,
  buildModelFromDescription,
  Container,
  Conv1d,
  Conv2d,
  crossEntropyLoss,
  defaultRegistry,
  Flatten,
  initModuleParameters,
  LayerNorm,
  Linear,
  LycorisLayer,
  MaxPool2d,
  Module,
  ModuleList,
  Parameter,
  PeftModel,
  ReLU,
  readSafetensors,
  readSafetensorsSync,
  Sequential,
  savePeftAdapter,
  writeSafetensors,
} from "@lycoris-ts/runtime";
export * from "./functional/index";
export type { LoHaConfigOptions } from "./loha-config";
export { LoHaConfig } from "./loha-config";
export { getPeftModel, LoHaModel, loadAdapter, loadPeftModel, registerLoHa } from "./loha-model";
export { lohaLayerShape, lohaShapeOptions, lohaVariant } from "./loha-variant";
