import { createRng, tensor } from "@lycoris-ts/kernels";
import { AdamW, type AdamWOptions, crossEntropyLoss, type Parameter } from "@lycoris-ts/runtime";
import { type Dataset, gatherBatch, shuffleInPlace } from "./data";
import { argmaxRows } from "./evaluate";
import type { Network } from "./network";

/** Running figures of the current epoch, reported after every batch. */
export interface BatchReport {
  readonly epoch: number;
  readonly batch: number;
  readonly batches: number;
  /** Mean loss over the epoch's batches so far. */
  readonly loss: number;
  /** Training accuracy over the epoch's samples so far. */
  readonly accuracy: number;
}

/** Options of {@link trainNetwork}. */
export interface TrainOptions {
  readonly epochs: number;
  readonly batchSize?: number;
  readonly seed?: number;
  readonly classes: number;
  readonly optimizer?: AdamWOptions;
  /** Called after each batch (progress bars). */
  readonly onBatch?: (report: BatchReport) => void;
  /** Called at the start of each epoch with the number of batches. */
  readonly onEpochStart?: (epoch: number, batches: number) => void;
  /** Called at the end of each epoch with its final report. */
  readonly onEpochEnd?: (report: BatchReport) => void;
}

/**
 * Minibatch training with AdamW and softmax cross-entropy, in training mode:
 * only `params` whose `requiresGrad` is true are updated (for a PEFT model,
 * the adapter parameters). Returns the last epoch's report.
 */
export function trainNetwork(
  net: Network,
  params: Iterable<Parameter>,
  data: Dataset,
  options: TrainOptions,
): BatchReport | null {
  const batchSize = options.batchSize ?? 64;
  const trainable = [...params].filter((p) => p.requiresGrad);
  const opt = new AdamW(trainable, options.optimizer);
  const rng = createRng(options.seed ?? 0);
  const order = Array.from({ length: data.n }, (_, i) => i);
  const batches = Math.ceil(data.n / batchSize);
  let last: BatchReport | null = null;
  net.train(true);
  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    shuffleInPlace(order, rng);
    options.onEpochStart?.(epoch, batches);
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    for (let b = 0; b < batches; b++) {
      const batch = gatherBatch(data, order.slice(b * batchSize, (b + 1) * batchSize));
      const logits = net.forward(tensor(batch.images, batch.shape));
      const { loss, dLogits } = crossEntropyLoss(logits, batch.labels);
      opt.zeroGrad();
      net.backward(dLogits);
      opt.step();
      const pred = argmaxRows(logits.data, options.classes);
      for (let i = 0; i < pred.length; i++) if (pred[i] === batch.labels[i]) correct++;
      seen += batch.labels.length;
      lossSum += loss;
      last = { epoch, batch: b + 1, batches, loss: lossSum / (b + 1), accuracy: correct / seen };
      options.onBatch?.(last);
    }
    if (last !== null) options.onEpochEnd?.(last);
  }
  net.train(false);
  return last;
}
