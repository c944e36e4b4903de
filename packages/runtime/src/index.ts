export { cloneModule } from "./adapter/clone-module";
export type { ModelFacts } from "./adapter/describe-model";
export { describeModel, describeModule } from "./adapter/describe-model";
export type { AdaptableLayer } from "./adapter/layer-geometry";
export { isAdaptableLayer, layerGeometry } from "./adapter/layer-geometry";
export type { AdapterPadding, LayerAdapter, LycorisLayerOptions } from "./adapter/lycoris-layer";
export { applyWeight, LycorisLayer, weightBackward } from "./adapter/lycoris-layer";
export { ModulesToSaveWrapper } from "./adapter/modules-to-save";
export { ParameterDict } from "./adapter/parameter-dict";
export type { AdapterErrorKind } from "./errors";
export { AdapterError } from "./errors";
export * from "./io/index";
export type { LycorisBase } from "./lycoris/lycoris-delta";
export { DORA_EPS, lycorisDeltaWeight, mergeLycorisModule } from "./lycoris/lycoris-delta";
export type { LycorisFormatErrorKind } from "./lycoris/lycoris-format-error";
export { LycorisFormatError } from "./lycoris/lycoris-format-error";
export type { LycorisLayerHints } from "./lycoris/lycoris-geometry";
export { checkLycorisModuleFits, lycorisLayerGeometry } from "./lycoris/lycoris-geometry";
export type { LycorisAdapter, LycorisAlgo, LycorisModule, LycorisStructure } from "./lycoris/lycoris-module";
export { DEFAULT_LYCORIS_PREFIXES, resolveLycorisPrefixes } from "./lycoris/lycoris-prefixes";
export type { LycorisToPeftOptions, PeftConversion, PeftConversionFailure } from "./lycoris/lycoris-to-peft";
export { lycorisToPeft } from "./lycoris/lycoris-to-peft";
export type { ReadLycorisOptions } from "./lycoris/read-lycoris-adapter";
export { isLycorisKeyNaming, readLycorisAdapter } from "./lycoris/read-lycoris-adapter";
export * from "./model/index";
export type { LoadPeftModelOptions } from "./peft/adapter-directory";
export {
  adapterSubdir,
  loadAdapter,
  loadPeftModel,
  readAdapterConfig,
  savePeftAdapter,
} from "./peft/adapter-directory";
export {
  adapterStateDict,
  loadAdapterStateDict,
  PEFT_KEY_PREFIX,
  savesEmbeddingLayers,
  splitPeftKey,
} from "./peft/adapter-state-dict";
export type { PeftModelOptions } from "./peft/peft-model";
export { getPeftModel, PeftModel } from "./peft/peft-model";
export { formatTrainableParameters } from "./peft/trainable-parameters";
export type { VariantEntryPoints } from "./peft/variant-entry-points";
export { variantEntryPoints } from "./peft/variant-entry-points";
export { AdapterRegistry, defaultRegistry, registerVariant } from "./registry/adapter-registry";
export type {
  AdaptableKind,
  AdapterContext,
  AdapterParams,
  AdapterVariant,
  LayerGeometry,
  ParameterLayout,
} from "./registry/adapter-variant";
