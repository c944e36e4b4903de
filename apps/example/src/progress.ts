import { Presets, SingleBar } from "cli-progress";
import type { BatchReport, TrainOptions } from "./train";

/** Progress callbacks for {@link trainNetwork}. */
export type ProgressCallbacks = Pick<TrainOptions, "onBatch" | "onEpochStart" | "onEpochEnd">;

/**
 * One `cli-progress` bar per epoch showing running loss and accuracy. Without
 * a TTY (CI logs) the bar is printed as plain lines, the last one per epoch
 * holding the epoch's final figures.
 */
export function progressBars(label: string, epochs: number): ProgressCallbacks {
  let bar: SingleBar | null = null;
  let total = 0;
  const payload = (r: Pick<BatchReport, "loss" | "accuracy">, epoch: number) => ({
    label,
    epoch: `${epoch}/${epochs}`,
    loss: r.loss.toFixed(4),
    acc: `${(100 * r.accuracy).toFixed(1)}%`,
  });
  return {
    onEpochStart(_epoch, batches) {
      total = batches;
    },
    onBatch(r) {
      // Started at the first batch, so logs without a TTY never show an empty "0/N" line.
      if (bar === null) {
        bar = new SingleBar(
          {
            format: "{label} epoch {epoch} |{bar}| {value}/{total} batches | loss {loss} | train acc {acc}",
            noTTYOutput: true,
            notTTYSchedule: 5000,
            hideCursor: true,
            barsize: 24,
            stream: process.stdout,
          },
          Presets.shades_classic,
        );
        bar.start(total, r.batch, payload(r, r.epoch));
      } else {
        bar.update(r.batch, payload(r, r.epoch));
      }
    },
    onEpochEnd(r) {
      bar?.update(r.batch, payload(r, r.epoch));
      bar?.stop();
      bar = null;
    },
  };
}
