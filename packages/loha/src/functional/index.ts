export { lohaBackward } from "./backward";
export { lohaDeltaWeight } from "./delta-weight";
export { lohaForward } from "./forward";
export type { LoHaInitWeights } from "./init-params";
export { initLoHaParams } from "./init-params";
export { lohaLinearPath } from "./linear-path";
export type { LoHaMathErrorDetails } from "./loha-math-error";
export { LoHaMathError } from "./loha-math-error";
export { lohaMergeInto } from "./merge";
export {
  LOHA_PARAM_NAMES,
  lohaBaseWeightShape,
  lohaParamShapes,
  lohaUsesEffectiveConv,
} from "./param-shapes";
export type {
  LoHaApplyOptions,
  LoHaGradients,
  LoHaLayerKind,
  LoHaLayerShape,
  LoHaLinearPath,
  LoHaParamLayout,
  LoHaParams,
  LoHaShapeOptions,
} from "./types";
