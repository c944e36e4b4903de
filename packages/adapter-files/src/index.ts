/**
 * The file engine of lycoris-ts as a library: open LyCORIS adapters (PEFT adapter directories and
 * kohya / LyCORIS files), fit their modules to a base checkpoint, validate and describe them, merge
 * them into a base model tensor by tensor, and convert between the formats. Every variant is handled
 * through its registry hooks. Inputs are paths (Node.js) or Blobs / Files; functions return data and
 * report progress through a callback.
 */
export type { AdapterFilesErrorKind } from "./adapter-files-error";
export { AdapterFilesError } from "./adapter-files-error";
export type { OutputPathOptions } from "./check-output-path";
export { checkOutputPath } from "./check-output-path";
export { conversionTarget } from "./conversion-target";
export type { ConvertAdapterToLoraOptions } from "./convert-adapter-to-lora";
export { convertAdapterToLora } from "./convert-adapter-to-lora";
export type { ConvertKohyaToPeftOptions, KohyaToPeftResult } from "./convert-kohya-to-peft";
export { convertKohyaToPeft } from "./convert-kohya-to-peft";
export type { ConvertLayoutOptions, ConvertLayoutSummary } from "./convert-layout";
export { convertLayout } from "./convert-layout";
export type { ConvertPeftToKohyaOptions, PeftToKohyaSummary } from "./convert-peft-to-kohya";
export { convertPeftToKohya } from "./convert-peft-to-kohya";
export type { AdapterModuleDescription, ParamDescription } from "./describe-module";
export { describeModule } from "./describe-module";
export type {
  ChangedTensorReport,
  ExtractAdapterOptions,
  ExtractedLayerReport,
  ExtractSummary,
} from "./extract-adapter";
export { extractAdapter } from "./extract-adapter";
export type {
  AdapterInput,
  BaseInput,
  DirectoryFiles,
  FileInput,
  FileOutput,
  ShardedFiles,
} from "./file-input";
export { inputName, isShardedFiles } from "./file-input";
export type { ModuleFit, ModuleMisfit } from "./fit-module-to-base";
export { fitModuleToBase } from "./fit-module-to-base";
export type { AdapterModuleTensors, GroupedAdapterTensors, KeyNaming } from "./group-adapter-tensors";
export { detectKeyNaming, groupAdapterTensors } from "./group-adapter-tensors";
export type { AdapterDescription, AdapterFormat, InspectReport, Totals } from "./inspect-adapters";
export { inspectAdapters } from "./inspect-adapters";
export type { InspectPlacementOptions, PlacementReport, PlacementTotals } from "./inspect-placement";
export { inspectPlacement } from "./inspect-placement";
export { baseModuleNames, isKohyaFile, readKohyaFile } from "./kohya-file";
export { compareLayout, mismatchText, shapeText } from "./layout-check";
export type { AdapterLocation, LocatedAdapters } from "./locate-adapters";
export { directoryFiles, locateAdapters, selectAdapters } from "./locate-adapters";
export type { MergeOptions, MergeSummary } from "./merge-adapters";
export { mergeAdapters } from "./merge-adapters";
export type {
  MergeAdapterSpec,
  MergedAdapterSummary,
  MergeIntoBaseOptions,
  MergeIntoBaseSummary,
} from "./merge-into-base";
export { isSingleFileAdapter, mergeIntoBase } from "./merge-into-base";
export type { MergeKohyaFileOptions, MergeKohyaFileSummary } from "./merge-kohya-file";
export { mergeKohyaFile } from "./merge-kohya-file";
export type { MergeWarning } from "./merge-warning";
export { mergeWarningText } from "./merge-warning";
export type { OpenedAdapter } from "./open-adapter";
export { closeAdapters, openAdapter, openAdapters } from "./open-adapter";
export { checkBaseModel, openBaseModel } from "./open-base-model";
export type { LoaderPatchStep, PatchPlan, PatchStep, PeftPatchStep } from "./patch-plan";
export { applyPatchSteps } from "./patch-plan";
export type { FilePatchPlan, PlanFilePatchesOptions } from "./plan-file-patches";
export { planFilePatches } from "./plan-file-patches";
export type { MergePlan, ModuleUpdate } from "./plan-merge";
export { checkFloatBase, planMerge } from "./plan-merge";
export type { MergedOutputOptions } from "./plan-merged-layout";
export { planMergedLayout } from "./plan-merged-layout";
export type { OnProgress, ProgressEvent } from "./progress";
export type { AdapterConfigFile } from "./read-adapter-config";
export { readAdapterConfigFile } from "./read-adapter-config";
export type { SafetensorsIndex } from "./safetensors-index";
export { formatSafetensorsIndex, parseSafetensorsIndex } from "./safetensors-index";
export type { ShardedTensorFile, TensorShard } from "./sharded-tensor-file";
export { findIndexFile, isShardedTensorFile, openShardedTensorFile } from "./sharded-tensor-file";
export type { TensorFile } from "./tensor-file";
export { openTensorFile } from "./tensor-file";
export type { TensorFileWriter } from "./tensor-file-writer";
export { createTensorFileWriter } from "./tensor-file-writer";
export type { AdapterValidation, CheckLevel, ValidateReport, ValidationCheck } from "./validate-adapters";
export { validateAdapters } from "./validate-adapters";
export type { ValidateKohyaFileOptions } from "./validate-kohya-file";
export { validateKohyaFile } from "./validate-kohya-file";
export type { ExtractedAdapterToWrite } from "./write-extracted-adapter";
export { writeExtractedAdapter } from "./write-extracted-adapter";
export type {
  LoadBaseWeight,
  MergedCopyOptions,
  MergedFile,
  MergedLayout,
  ReplaceTensor,
} from "./write-merged-copy";
export { writeMergedCopy } from "./write-merged-copy";
