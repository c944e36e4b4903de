/**
 * LoKr (low-rank Kronecker product) adapters with PEFT's semantics and file
 * format. Everything LoKr needs is exported here: the config, the model API,
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
export type { LoKrConfigOptions } from "./lokr-config";
export { LoKrConfig } from "./lokr-config";
export { getPeftModel, LoKrModel, loadAdapter, loadPeftModel, registerLoKr } from "./lokr-model";
export { lokrLayerShape, lokrShapeOptions, lokrVariant } from "./lokr-variant";
