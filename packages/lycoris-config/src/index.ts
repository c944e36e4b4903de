export type { AdapterConfigToJsonOptions, ParsedAdapterConfig } from "./adapter-config-json";
export { adapterConfigBehaviour, adapterConfigToJson, parseAdapterConfigJson } from "./adapter-config-json";
export { configFromFileOptions } from "./config-from-file-options";
export { DEFAULT_TARGET_MODULES, defaultTargetModules } from "./default-target-modules";
export type { LycorisConfigErrorDetails, LycorisErrorKind } from "./errors";
export { invalidValueError, LycorisConfigError } from "./errors";
export type { InitWeights, LycorisConfigOptions } from "./lycoris-config";
export { LycorisConfig, rejectUnknownOptions } from "./lycoris-config";
export { findMinimalTargetModules, MIN_TARGET_MODULES_FOR_OPTIMIZATION } from "./minimal-target-modules";
export type { ModelDescription, ModuleDescription, ModuleKind } from "./model-description";
export { parseModelDescription } from "./model-description";
export type { ModuleMatch, ModuleMatcher } from "./module-matching";
export { createModuleMatcher, matchesNameOrSuffix } from "./module-matching";
export { isModuleToSave } from "./modules-to-save";
export type { PeftSilentWarning, PeftSilentWarningId } from "./peft-silent-warnings";
export {
  findPeftSilentWarning,
  PEFT_SILENT_WARNINGS,
  peftSilentWarningMessage,
} from "./peft-silent-warnings";
export type { PythonMatchMode } from "./python-regex";
export { compilePythonRegex, translatePythonRegex } from "./python-regex";
export { pythonFloatRepr } from "./python-repr";
export type { RankAndAlpha } from "./rank-pattern";
export { findPatternKey, resolveRankAndAlpha, validateForInjection } from "./rank-pattern";
export { camelToSnake, snakeToCamel } from "./snake-case";
export type { SelectTargetModulesOptions, TargetSelection } from "./target-selection";
export { selectTargetModules } from "./target-selection";
export type { PeftTaskType } from "./task-type";
export { isPeftTaskType, PEFT_TASK_TYPES } from "./task-type";
