/**
 * LoHa (low-rank Hadamard product) adapters with PEFT's semantics and file
 * format. Everything LoHa needs is exported here: the config, the model API,
 * the model building blocks and the file IO of the shared runtime.
 */
export { LoHaConfig } from "./loha-config";
export type { LoHaConfigOptions } from "./loha-config";
export { lohaLayerShape, lohaShapeOptions, lohaVariant } from "./loha-variant";
export { LoHaModel, getPeftModel, loadAdapter, loadPeftModel, registerLoHa } from "./loha-model";
export * from "./functional/index";
export {
  AdamW,
  AdapterError,
  AdapterRegistry,
  Container,
  Conv1d,
  Conv2d,
  Flatten,
  LayerNorm,
  Linear,
  LycorisLayer,
  MaxPool2d,
  Module,
  ModuleList,
  Parameter,
  PeftModel,
  ReLU,
  Sequential,
  adapterStateDict,
  buildModelFromDescription,
  crossEntropyLoss,
  defaultRegistry,
  initModuleParameters,
  readSafetensors,
  readSafetensorsSync,
  savePeftAdapter,
  writeSafetensors,
} from "@lycoris-ts/runtime";
export type { AdapterVariant, LoadPeftModelOptions, PeftModelOptions } from "@lycoris-ts/runtime";
export { LycorisConfigError } from "@lycoris-ts/lycoris-config";
export type { LycorisConfigOptions } from "@lycoris-ts/lycoris-config";
export { createRng, tensor } from "@lycoris-ts/kernels";
export type { Tensor } from "@lycoris-ts/kernels";
