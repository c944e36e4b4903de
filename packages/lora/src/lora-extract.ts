import { matmul, numel, relativeError, type Tensor } from "@lycoris-ts/kernels";
import {
  type DeltaExtraction,
  type DeltaExtractionOptions,
  extractionSvd,
  type LayerGeometry,
} from "@lycoris-ts/runtime";
import { LoraError } from "./functional/lora-error";

/**
 * LoRA's `extractFromDelta` hook (LyCORIS's `extract_locon`): a truncated SVD of ΔW flattened to
 * `[out, in·∏kernel]` (`extractionSvd`: randomized, or full for small layers) with the rank the selection keeps,
 * `lora_B = U_k·diag(S_k)` and `lora_A = V_kᵀ` as LyCORIS stores them, `r = alpha = k` (scaling 1). A conv's
 * `lora_A` keeps the base kernel and `lora_B` is 1×…×1. Linear and conv layers only (a 2-D weight is read as a
 * Linear one).
 */
export function loraExtractFromDelta(
  delta: Tensor<Float32Array>,
  layer: LayerGeometry,
  options: DeltaExtractionOptions,
): DeltaExtraction {
  if (layer.kind !== "linear" && layer.kind !== "conv1d" && layer.kind !== "conv2d") {
    throw new LoraError("invalid_params", `LoRA cannot be extracted for a ${layer.kind} layer`, {
      field: "layer.kind",
      expected: "linear, conv1d or conv2d",
      received: layer.kind,
    });
  }
  if (layer.groups !== 1) {
    throw new LoraError("invalid_params", `LoRA extraction needs groups = 1, got ${layer.groups}`, {
      field: "layer.groups",
      expected: "1",
      received: String(layer.groups),
    });
  }
  const selection = options.rank;
  if (selection === undefined) {
    throw new LoraError(
      "invalid_params",
      "LoRA extraction needs a rank selection (fixed, threshold, ratio or quantile)",
      {
        field: "rank",
        expected: "a rank selection",
        received: "none",
      },
    );
  }
  const rows = layer.outFeatures;
  const cols = numel(delta.shape) / rows;
  const matrix = { data: delta.data, shape: [rows, cols] };
  const { svd, rank: k } = extractionSvd(matrix, selection);
  const { u, s, v } = svd.leading(k);
  const b = new Float32Array(rows * k);
  for (let i = 0; i < rows; i++) for (let t = 0; t < k; t++) b[i * k + t] = u.data[i * k + t]! * s[t]!;
  const a = new Float32Array(k * cols);
  for (let j = 0; j < cols; j++) for (let t = 0; t < k; t++) a[t * cols + j] = v.data[j * k + t]!;
  const approx = matmul({ data: b, shape: [rows, k] }, { data: a, shape: [k, cols] });
  const ones = layer.kernelSize.map(() => 1);
  return {
    module: {
      params: {
        "lora_A.weight": { data: a, shape: [k, layer.inFeatures, ...layer.kernelSize] },
        "lora_B.weight": { data: b, shape: [rows, k, ...ones] },
      },
      r: k,
      alpha: k,
      relativeError: relativeError(delta.data, approx.data),
      structure: `rank ${k}`,
    },
    configOptions: {},
  };
}
