export { layerDeltaSvd } from "./layer-delta-svd";
export type { LoraFactors, LoraFactorsOptions } from "./lora-factors";
export { loraFactors } from "./lora-factors";
export type { LoraRank } from "./lora-rank";
export { resolveLoraRank } from "./lora-rank";
export type { LowRankReport } from "./low-rank-report";
export { lowRankReport } from "./low-rank-report";
export { selectLoraRank } from "./select-lora-rank";
export { thresholdRank } from "./threshold-rank";
