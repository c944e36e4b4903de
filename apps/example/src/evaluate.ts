import { tensor } from "@lycoris-ts/kernels";
import { type Dataset, gatherBatch } from "./data";
import type { Network } from "./network";

/** Logits of a whole dataset in eval mode: row-major `[n, classes]`. */
export function predictLogits(net: Network, data: Dataset, batchSize = 256): Float32Array {
  net.train(false);
  const parts: Float32Array[] = [];
  for (let start = 0; start < data.n; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, data.n - start) }, (_, i) => start + i);
    const batch = gatherBatch(data, idx);
    parts.push(net.forward(tensor(batch.images, batch.shape)).data);
  }
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = new Float32Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Index of the largest value of each row of `[n, classes]` logits. */
export function argmaxRows(logits: Float32Array, classes: number): Int32Array {
  const n = logits.length / classes;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < classes; j++) if (logits[i * classes + j]! > logits[i * classes + best]!) best = j;
    out[i] = best;
  }
  return out;
}

/** Fraction of rows whose argmax equals the label. */
export function accuracyOf(logits: Float32Array, labels: Int32Array, classes: number): number {
  const pred = argmaxRows(logits, classes);
  let ok = 0;
  for (let i = 0; i < labels.length; i++) if (pred[i] === labels[i]) ok++;
  return labels.length === 0 ? 0 : ok / labels.length;
}

/** Accuracy of `net` on `data` in eval mode. */
export function evaluateAccuracy(net: Network, data: Dataset, classes: number): number {
  return accuracyOf(predictLogits(net, data), data.labels, classes);
}

/** Comparison of two logit tables of the same shape. */
export interface LogitsComparison {
  /** Whether every row has the same argmax. */
  readonly sameArgmax: boolean;
  /** Largest absolute element-wise difference. */
  readonly maxAbsDiff: number;
}

/** Compares two `[n, classes]` logit tables. */
export function compareLogits(a: Float32Array, b: Float32Array, classes: number): LogitsComparison {
  if (a.length !== b.length) return { sameArgmax: false, maxAbsDiff: Number.POSITIVE_INFINITY };
  const pa = argmaxRows(a, classes);
  const pb = argmaxRows(b, classes);
  let sameArgmax = true;
  for (let i = 0; i < pa.length; i++) if (pa[i] !== pb[i]) sameArgmax = false;
  let maxAbsDiff = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= maxAbsDiff)) maxAbsDiff = d; // NaN propagates as a failure
  }
  return { sameArgmax, maxAbsDiff };
}
