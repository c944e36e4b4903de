import type { F32Kernels } from "./f32-kernels";
import { kronMergeJs, lowRankHadamardJs, matmulJs } from "./js-kernels";

/** The plain typed-array backend (float32 instance of the reference loops). */
export function createJsBackend(): F32Kernels {
  return {
    name: "js",
    matmul: matmulJs,
    kronMerge: kronMergeJs,
    lowRankHadamard: lowRankHadamardJs,
  };
}
