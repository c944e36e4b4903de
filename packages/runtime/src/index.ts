export type { LycorisErrorDetails } from "@lycoris-ts/errors";
export { isLycorisError, LycorisError } from "@lycoris-ts/errors";
export type { ShapeMismatch } from "./adapter/check-tensor-shapes";
export { diffParameterShapes } from "./adapter/check-tensor-shapes";
export { cloneModule } from "./adapter/clone-module";
export type { ModelFacts } from "./adapter/describe-model";
export { describeModel, describeModule } from "./adapter/describe-model";
export type { AdaptableLayer } from "./adapter/layer-geometry";
export { isAdaptableLayer, layerGeometry } from "./adapter/layer-geometry";
export type {
  AdapterPadding,
  LayerAdapter,
  LayerMergeOptions,
  LycorisLayerOptions,
} from "./adapter/lycoris-layer";
export { applyWeight, LycorisLayer, weightBackward } from "./adapter/lycoris-layer";
export { ModulesToSaveWrapper } from "./adapter/modules-to-save";
export { ParameterDict } from "./adapter/parameter-dict";
export { rankDropoutMask } from "./adapter/rank-dropout";
export type { AdapterErrorKind } from "./errors";
export { AdapterError } from "./errors";
export * from "./io/index";
export * from "./lora-conversion/index";
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
  DeltaWeightSvdOptions,
  LayerGeometry,
  ParameterLayout,
} from "./registry/adapter-variant";
export type { ParameterShapeCheck } from "./registry/check-parameter-shapes";
export { describeParameterShapes } from "./registry/check-parameter-shapes";
export type {
  DeltaExtraction,
  DeltaExtractionOptions,
  ExtractedModule,
  RankSelection,
} from "./registry/delta-extraction";
export type { KohyaFormat, KohyaModuleShapes } from "./registry/kohya-format";
export type { LayerHints } from "./registry/layer-candidates";
export {
  exactLayerCandidates,
  foldedLayerCandidates,
  geometryFromWeightShape,
  inputMajorGeometry,
  tuckerLayerCandidates,
} from "./registry/layer-candidates";
export { mergeIntoWeight } from "./registry/merge-into-weight";
export type {
  FactorDescription,
  FactorForm,
  ParameterProblem,
  ParameterShapes,
  ParameterStructure,
} from "./registry/parameter-structure";
