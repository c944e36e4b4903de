export * from "./io/index";
export * from "./model/index";
export type { AdapterErrorKind } from "./errors";
export { AdapterError } from "./errors";
export type {
  AdaptableKind,
  AdapterContext,
  AdapterParams,
  AdapterVariant,
  LayerGeometry,
  ParameterLayout,
} from "./registry/adapter-variant";
export { AdapterRegistry, defaultRegistry, registerVariant } from "./registry/adapter-registry";
export type { AdapterPadding, LayerAdapter, LycorisLayerOptions } from "./adapter/lycoris-layer";
export { LycorisLayer, applyWeight, weightBackward } from "./adapter/lycoris-layer";
export { ParameterDict } from "./adapter/parameter-dict";
export { ModulesToSaveWrapper } from "./adapter/modules-to-save";
export type { ModelFacts } from "./adapter/describe-model";
export { describeModel, describeModule } from "./adapter/describe-model";
export { cloneModule } from "./adapter/clone-module";
export { isAdaptableLayer, layerGeometry } from "./adapter/layer-geometry";
export type { AdaptableLayer } from "./adapter/layer-geometry";
export type { PeftModelOptions } from "./peft/peft-model";
export { PeftModel, getPeftModel } from "./peft/peft-model";
export { formatTrainableParameters } from "./peft/trainable-parameters";
export {
  PEFT_KEY_PREFIX,
  adapterStateDict,
  loadAdapterStateDict,
  savesEmbeddingLayers,
  splitPeftKey,
} from "./peft/adapter-state-dict";
export type { LoadPeftModelOptions } from "./peft/adapter-directory";
export { adapterSubdir, loadAdapter, loadPeftModel, readAdapterConfig, savePeftAdapter } from "./peft/adapter-directory";
