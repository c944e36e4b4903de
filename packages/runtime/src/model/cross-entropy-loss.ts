import { formatShape, type Tensor, tensor } from "@lycoris-ts/kernels";
import { ModelError } from "./model-error";

/**
 * Softmax cross-entropy with mean reduction, as torch `F.cross_entropy`:
 * `logits` `[N, C]`, integer `labels` in `[0, C)`. Returns the loss and its
 * gradient w.r.t. the logits, `(softmax − onehot) / N`. Computed in float64.
 */
export function crossEntropyLoss(
  logits: Tensor<Float32Array>,
  labels: Int32Array,
): { loss: number; dLogits: Tensor<Float32Array> } {
  if (logits.shape.length !== 2 || logits.shape[0] !== labels.length || labels.length === 0) {
    throw new ModelError(
      "invalid_input",
      `crossEntropyLoss expects logits [N, C] with N = labels.length (${labels.length}) > 0, got ${formatShape(logits.shape)}`,
      { field: "logits", expected: `[${labels.length}, C]`, received: formatShape(logits.shape) },
    );
  }
  const n = logits.shape[0]!;
  const c = logits.shape[1]!;
  const z = logits.data;
  const d = new Float32Array(n * c);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (y < 0 || y >= c) {
      throw new ModelError("invalid_input", `label ${y} at row ${i} is outside [0, ${c})`, {
        field: `labels[${i}]`,
        expected: `in [0, ${c})`,
        received: String(y),
      });
    }
    const row = i * c;
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < c; j++) max = Math.max(max, z[row + j]!);
    let sum = 0;
    for (let j = 0; j < c; j++) sum += Math.exp(z[row + j]! - max);
    const logSum = Math.log(sum) + max;
    total += logSum - z[row + y]!;
    for (let j = 0; j < c; j++) {
      const p = Math.exp(z[row + j]! - logSum);
      d[row + j] = (p - (j === y ? 1 : 0)) / n;
    }
  }
  return { loss: total / n, dLogits: tensor(d, [n, c]) };
}
