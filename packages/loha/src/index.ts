/**
 * LoHa (low-rank Hadamard product) adapters with PEFT's semantics and file
 * format. Everything LoHa needs is exported here: the config, the model API,
 * the LoHa math, and (re-exported) the whole shared runtime — model building
 * blocks, registry, safetensors and PEFT adapter files.
 */

export type { Tensor } from "@lycoris-ts/kernels";
export { createRng, tensor } from "@lycoris-ts/kernels";
export type { LycorisConfigOptions } from "@lycoris-ts/lycoris-config";
export { LycorisConfig, LycorisConfigError } from "@lycoris-ts/lycoris-config";
// The runtime's API; the LoHa-specific getPeftModel / loadPeftModel / loadAdapter below take precedence.
export * from "@lycoris-ts/runtime";
export * from "./functional/index";
export type { LoHaConfigOptions } from "./loha-config";
export { LoHaConfig } from "./loha-config";
export { getPeftModel, LoHaModel, loadAdapter, loadPeftModel, registerLoHa } from "./loha-model";
export { lohaLayerShape, lohaShapeOptions, lohaVariant } from "./loha-variant";
