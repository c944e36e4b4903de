/**
 * kohya / LyCORIS ("webui") format files (LoKr, LoHa: every registered variant with a `kohya` hook): read them (keys resolved against a model's module
 * names), compute ΔW and merged weights with the kohya loaders' rules (ComfyUI's rank/scale rules, DoRA),
 * and convert them to PEFT adapters where PEFT can represent them; write PEFT LoKr / LoHa adapters as such files. See docs/lycoris-format.md.
 */

export { DORA_EPS } from "./dora-weight";
export type { AdapterTensorName } from "./key-map/adapter-tensor-suffix";
export { splitAdapterTensorName } from "./key-map/adapter-tensor-suffix";
export type { BaseTensorShapes } from "./key-map/base-checkpoint";
export { baseCheckpointFamily } from "./key-map/base-checkpoint";
export { closestNames } from "./key-map/closest-names";
export type {
  AdapterKeyMap,
  AdapterLayout,
  AdapterPatchKind,
  BaseComponent,
  BaseFamily,
  ClosestBaseName,
  KeyMapEntry,
  KeyMapFamily,
  KeyMapStatus,
  KeyMapTarget,
  RowSlice,
  WeightFunction,
} from "./key-map/key-map-types";
export type { MapAdapterKeysOptions } from "./key-map/map-adapter-keys";
export { assertAdapterKeysPlaced, mapAdapterKeys } from "./key-map/map-adapter-keys";
export type { MapGenericAdapterKeysOptions } from "./key-map/map-generic-adapter-keys";
export { mapGenericAdapterKeys } from "./key-map/map-generic-adapter-keys";
export type {
  AdapterRelayout,
  RelayoutDrop,
  RelayoutModule,
  RelayoutOptions,
  TargetLayout,
} from "./key-map/relayout-adapter-keys";
export { relayoutAdapterKeys, TARGET_LAYOUTS } from "./key-map/relayout-adapter-keys";
export type { KohyaKeyMatch } from "./kohya-names";
export {
  KohyaKeyMap,
  KohyaNameError,
  kohyaKeyToPeft,
  kohyaModuleKey,
  LYCORIS_PREFIX,
  peftKeyToKohya,
} from "./kohya-names";
export type { KohyaVariant } from "./kohya-variants";
export { isLycorisKeyNaming, kohyaToPeftParam, kohyaVariantOf, kohyaVariants } from "./kohya-variants";
export type { LoaderPatchTarget } from "./loader-patch/apply-loader-patch";
export { applyLoaderPatch, checkLoaderPatchFits } from "./loader-patch/apply-loader-patch";
export type {
  DiffLoaderPatch,
  LoaderPatch,
  LoaderWeightPatch,
  LoraLoaderPatch,
  VariantLoaderPatch,
} from "./loader-patch/loader-patch";
export type { LoaderPatchPlacement, LoaderPatchPlacements } from "./loader-patch/place-loader-patches";
export { placeLoaderPatches } from "./loader-patch/place-loader-patches";
export type { LoaderPatchSource } from "./loader-patch/read-loader-patch";
export { readLoaderPatch } from "./loader-patch/read-loader-patch";
export type { PrefixedLoaderPatch, PrefixedLoaderPatches } from "./loader-patch/read-prefixed-patches";
export { readPrefixedLoaderPatches } from "./loader-patch/read-prefixed-patches";
export type { LycorisBase, MergeLycorisModuleOptions } from "./lycoris-delta";
export { lycorisDeltaWeight, mergeLycorisModule } from "./lycoris-delta";
export type { LycorisFormatErrorKind } from "./lycoris-format-error";
export { LycorisFormatError } from "./lycoris-format-error";
export type { LycorisLayerHints } from "./lycoris-geometry";
export { checkLycorisModuleFits, lycorisLayerGeometry } from "./lycoris-geometry";
export type { LycorisAdapter, LycorisAlgo, LycorisModule, LycorisStructure } from "./lycoris-module";
export { DEFAULT_LYCORIS_PREFIXES, resolveLycorisPrefixes } from "./lycoris-prefixes";
export type { LycorisToPeftOptions, PeftConversion, PeftConversionFailure } from "./lycoris-to-peft";
export { lycorisToPeft } from "./lycoris-to-peft";
export type {
  PeftAdapterInput,
  PeftToLycorisModule,
  PeftToLycorisOptions,
  PeftToLycorisResult,
} from "./peft-to-lycoris";
export { peftToLycoris } from "./peft-to-lycoris";
export type { ReadLycorisOptions } from "./read-lycoris-adapter";
export { readLycorisAdapter } from "./read-lycoris-adapter";
export type { LycorisAdapterTensors, WriteLycorisOptions } from "./write-lycoris-adapter";
export { writeLycorisAdapter } from "./write-lycoris-adapter";
