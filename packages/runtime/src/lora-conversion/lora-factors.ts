import type { LazySvd, Tensor } from "@lycoris-ts/kernels";
import type { LoraRank } from "./lora-rank";
import { type LowRankReport, lowRankReport } from "./low-rank-report";
import { selectLoraRank } from "./select-lora-rank";

/** One layer's LoRA factors with the scaling baked in (`B·A ≈ ΔW`, LoRA scaling 1), and how good they are. */
export interface LoraFactors extends LowRankReport {
  /** `lora_A`: `[k, in/groups · ∏kernel]`, the leading right singular vectors `V_kᵀ`. */
  readonly loraA: Tensor<Float32Array>;
  /** `lora_B`: `[out, k]`, `U_k·diag(S_k)`. */
  readonly loraB: Tensor<Float32Array>;
}

/** Options of {@link loraFactors}. */
export interface LoraFactorsOptions {
  /**
   * Which factor takes the singular values: `"b"` (default, PEFT: `B = U_k·diag(S_k)`, `A = V_kᵀ`) or `"a"`
   * (`B = U_k`, `A = diag(S_k)·V_kᵀ`, what PEFT returns for a GPT-2 `Conv1D`, whose ΔW it decomposes transposed).
   */
  readonly singularValuesOn?: "a" | "b";
}

/**
 * PEFT's per-layer conversion step: chooses the rank from the singular values ({@link selectLoraRank}, PEFT's
 * errors), then `lora_B = U_k·diag(S_k)`, `lora_A = V_kᵀ` (float32), with the rank's energy and relative error.
 */
export function loraFactors(
  svd: LazySvd,
  rank: number | LoraRank,
  module?: string,
  options: LoraFactorsOptions = {},
): LoraFactors {
  const k = selectLoraRank(svd.singularValues, rank, module);
  const { u, s, v } = svd.leading(k);
  const rows = svd.rows;
  const cols = svd.cols;
  const onA = options.singularValuesOn === "a";
  const b = new Float32Array(rows * k);
  for (let i = 0; i < rows; i++)
    for (let t = 0; t < k; t++) b[i * k + t] = onA ? u.data[i * k + t]! : u.data[i * k + t]! * s[t]!;
  const a = new Float32Array(k * cols);
  for (let j = 0; j < cols; j++)
    for (let t = 0; t < k; t++) a[t * cols + j] = onA ? v.data[j * k + t]! * s[t]! : v.data[j * k + t]!;
  return {
    ...lowRankReport(svd.singularValues, k),
    loraA: { data: a, shape: [k, cols] },
    loraB: { data: b, shape: [rows, k] },
  };
}
