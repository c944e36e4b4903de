/**
 * LoRA adapters with PEFT's semantics and file format (`LoraConfig` core options; Linear, Conv1d/Conv2d,
 * GPT-2 `Conv1D` and Embedding). Everything LoRA needs is exported here: the config, the model API, the
 * LoRA math, and (re-exported) the whole shared runtime — model building blocks, registry, safetensors and
 * PEFT adapter files.
 */

export type { Tensor } from "@lycoris-ts/kernels";
export { createRng, tensor } from "@lycoris-ts/kernels";
export type { LycorisConfigOptions } from "@lycoris-ts/lycoris-config";
export { LycorisConfig, LycorisConfigError } from "@lycoris-ts/lycoris-config";
// The runtime's API; the LoRA-specific getPeftModel / loadPeftModel / loadAdapter below take precedence.
export * from "@lycoris-ts/runtime";
export * from "./functional/index";
export type { LoraConfigOptions, UnsupportedLoraOptions } from "./lora-config";
export { LoraConfig } from "./lora-config";
export { getPeftModel, LoraModel, loadAdapter, loadPeftModel, registerLora } from "./lora-model";
export { loraLayerShape, loraVariant } from "./lora-variant";
