/**
 * LoRA adapters with PEFT's semantics and file format (`LoraConfig` core options; Linear, Conv1d/Conv2d,
 * GPT-2 `Conv1D` and Embedding): LoRA's own API (the config, the variant, the math, the file entry points),
 * plus the names of the shared runtime a LoRA user needs, listed one by one below and in the README
 * ("Runtime names re-exported here"). Anything else of the runtime comes from `@lycoris-ts/runtime`.
 */

// The error family, tensors and the shared config
export { isLycorisError, LycorisError } from "@lycoris-ts/errors";
export type { Tensor } from "@lycoris-ts/kernels";
export { createRng, tensor } from "@lycoris-ts/kernels";
export type { LycorisConfigOptions } from "@lycoris-ts/lycoris-config";
export { LycorisConfig, LycorisConfigError } from "@lycoris-ts/lycoris-config";
// Runtime: building a model, training it, the PEFT model, adapter files, the registry; then safetensors files
export type {
  AdamWOptions,
  AdapterPadding,
  ConvModuleOptions,
  LoadPeftModelOptions,
  PeftModelOptions,
} from "@lycoris-ts/runtime";
export {
  AdamW,
  AdapterError,
  AdapterFileError,
  AdapterRegistry,
  AvgPool2d,
  adapterStateDict,
  buildModelFromDescription,
  Conv1d,
  Conv2d,
  crossEntropyLoss,
  Dropout,
  Embedding,
  Flatten,
  GPT2Conv1D,
  getPeftModel,
  Identity,
  initModuleParameters,
  LayerNorm,
  Linear,
  LycorisLayer,
  loadAdapterStateDict,
  MaxPool2d,
  ModelError,
  Module,
  ModuleList,
  Parameter,
  PeftModel,
  ReLU,
  Sequential,
  savePeftAdapter,
} from "@lycoris-ts/runtime";
export {
  parseSafetensors,
  readSafetensors,
  readSafetensorsSync,
  SafetensorsError,
  serializeSafetensors,
  writeSafetensors,
} from "@lycoris-ts/safetensors";
// LoRA
export * from "./conversion/index";
export * from "./functional/index";
export type { LoraConfigOptions, UnsupportedLoraOptions } from "./lora-config";
export { LoraConfig } from "./lora-config";
export { loadAdapter, loadPeftModel, registerLora } from "./lora-entry-points";
export { loraLayerShape, loraVariant } from "./lora-variant";
