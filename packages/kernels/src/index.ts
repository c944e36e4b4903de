export type { BackendName } from "./backend/f32-kernels";
export type { GpuJsInfo, GpuJsOptions } from "./backend/gpujs-backend";
export { gpuResident, initGpuJs, releaseGpuResident } from "./backend/gpujs-backend";
export { getBackend, setBackend } from "./backend/resolve-backend";
export { wasmSimdSupported } from "./backend/wasm-backend";
export { residentZeros, toResident } from "./backend/wasm-resident";
export { getThreads, setThreads } from "./backend/wasm-threads";
export { decodeBF16, decodeF16, encodeBF16, encodeF16 } from "./dtype";
export { KernelsError } from "./errors";
export type { ConvBackwardOptions, ConvGrads, ConvOptions, PaddingMode } from "./ops/conv";
export { conv1d, conv1dBackward, conv2d, conv2dBackward } from "./ops/conv";
export type { Qr, Svd } from "./ops/decompositions";
export { qr, svd } from "./ops/decompositions";
export { add, addScaledInPlace, hadamard, scale } from "./ops/elementwise";
export { gatherRows, scatterAddRows } from "./ops/gather-rows";
export { kron } from "./ops/kron";
export type { KronApplyGrads } from "./ops/kron-apply";
export { kronApply, kronApplyBackward } from "./ops/kron-apply";
export { kronMergeInto } from "./ops/kron-merge";
export { kronSvd } from "./ops/kron-svd";
export type { LazySvd, TruncatedSvd } from "./ops/lazy-svd";
export { denseSvd, svdCostEstimate } from "./ops/lazy-svd";
export type { LowRankHadamardGrads } from "./ops/low-rank-hadamard";
export { lowRankHadamard, lowRankHadamardApply, lowRankHadamardBackward } from "./ops/low-rank-hadamard";
export type { MatmulOptions } from "./ops/matmul";
export { matmul } from "./ops/matmul";
export { productSvd } from "./ops/product-svd";
export type { RandomizedSvdOptions } from "./ops/randomized-svd";
export { randomizedSvd } from "./ops/randomized-svd";
export { relativeError } from "./ops/relative-error";
export type { TopProducts } from "./ops/top-products";
export { topProducts } from "./ops/top-products";
export type { TuckerGrads } from "./ops/tucker";
export { tuckerRebuild, tuckerRebuildBackward } from "./ops/tucker";
export type { Rng } from "./rng";
export { createRng, fanIn, kaimingUniform, normalTensor, uniformTensor } from "./rng";
export { ScratchPool } from "./scratch-pool";
export type { FloatArray, Tensor } from "./tensor";
export {
  formatShape,
  numel,
  outputLike,
  permute,
  reshape,
  sameShape,
  tensor,
  toFloat32,
  toFloat64,
  zeros,
  zeros64,
} from "./tensor";
