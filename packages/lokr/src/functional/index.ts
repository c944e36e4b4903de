export type { LoKrBackwardResult } from "./backward";
export { lokrBackward } from "./backward";
export { lokrDeltaWeight } from "./delta-weight";
export type { LoKrSvdOptions } from "./delta-weight-svd";
export { lokrDeltaWeightSvd } from "./delta-weight-svd";
export type { LoKrErrorDetails, LoKrErrorKind } from "./errors";
export { LoKrError } from "./errors";
export { factorization } from "./factorization";
export { lokrForward } from "./forward";
export type { LoKrInitWeights } from "./init-params";
export { initLoKrParams } from "./init-params";
export { lokrMergeInto } from "./merge-into";
export type { LoKrFromDelta, LoKrFromDeltaOptions } from "./nearest-kronecker";
export { lokrFromDelta } from "./nearest-kronecker";
export type { LoKrParamShapes } from "./param-shapes";
export { lokrNumParams, lokrParamShapes } from "./param-shapes";
export type {
  LoKrDeltaOptions,
  LoKrForwardOptions,
  LoKrLayerKind,
  LoKrLayerShape,
  LoKrParamShape,
  LoKrParams,
  LoKrShapeOptions,
  LoKrStructure,
} from "./types";
