/**
 * LoKr (low-rank Kronecker product) adapters with PEFT's semantics and file
 * format. Everything LoKr needs is exported here: the config, the model API,
 * the LoKr math, and (re-exported) the whole shared runtime — model building
 * blocks, registry, safetensors and PEFT adapter files.
 */

export type { Tensor } from "@lycoris-ts/kernels";
export { createRng, tensor } from "@lycoris-ts/kernels";
export type { LycorisConfigOptions } from "@lycoris-ts/lycoris-config";
export { LycorisConfig, LycorisConfigError } from "@lycoris-ts/lycoris-config";
// The runtime's API; the LoKr-specific getPeftModel / loadPeftModel / loadAdapter below take precedence.
export * from "@lycoris-ts/runtime";
export * from "./functional/index";
export type { LoKrConfigOptions } from "./lokr-config";
export { LoKrConfig } from "./lokr-config";
export { getPeftModel, LoKrModel, loadAdapter, loadPeftModel, registerLoKr } from "./lokr-model";
export { lokrLayerShape, lokrShapeOptions, lokrVariant } from "./lokr-variant";
