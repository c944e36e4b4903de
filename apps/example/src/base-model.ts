import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { createRng } from "@lycoris-ts/kernels";
import { initModuleParameters, type Module } from "@lycoris-ts/runtime";
import { readSafetensorsSync, writeSafetensors } from "@lycoris-ts/safetensors";
import type { Dataset } from "./data";
import { BASE_ARCHITECTURE, createBaseModel, NUM_CLASSES } from "./model";
import { type TrainOptions, trainNetwork } from "./train";

/** Options of {@link loadOrTrainBase}. */
export interface BaseTrainingOptions {
  /** Task-A training data. */
  readonly data: Dataset;
  /** Seed of the initialisation and the batch order. */
  readonly seed: number;
  readonly epochs: number;
  readonly learningRate: number;
  readonly batchSize: number;
  /** Folder of the cached weights (`base-<hash>.safetensors`); `null` disables the cache. */
  readonly cacheDir: string | null;
  /** Progress callbacks of the training loop. */
  readonly progress?: Pick<TrainOptions, "onBatch" | "onEpochStart" | "onEpochEnd">;
}

/** The base model and where it came from. */
export interface BaseModel {
  readonly model: Module;
  /** The safetensors file holding its weights (`null` without a cache). */
  readonly path: string | null;
  readonly fromCache: boolean;
}

/** The cache key: every input that changes the trained weights. */
export function baseCacheKey(o: Omit<BaseTrainingOptions, "cacheDir" | "progress">): string {
  const h = createHash("sha256");
  h.update(
    JSON.stringify({
      arch: BASE_ARCHITECTURE,
      seed: o.seed,
      epochs: o.epochs,
      lr: o.learningRate,
      batch: o.batchSize,
      n: o.data.n,
    }),
  );
  // The data itself (cheap: a few MB), so a different split never reuses stale weights.
  h.update(new Uint8Array(o.data.images.buffer, o.data.images.byteOffset, o.data.images.byteLength));
  h.update(new Uint8Array(o.data.labels.buffer, o.data.labels.byteOffset, o.data.labels.byteLength));
  return h.digest("hex").slice(0, 16);
}

/** Builds the base model and loads its weights from a safetensors file. */
export function loadBaseModel(path: string): Module {
  const model = createBaseModel();
  model.loadStateDict(readSafetensorsSync(path).tensors);
  model.eval();
  return model;
}

/**
 * Returns the base CNN trained on task A: loaded from the cache when the same
 * training was done before, else trained now (all parameters, AdamW) and cached.
 */
export async function loadOrTrainBase(o: BaseTrainingOptions): Promise<BaseModel> {
  const path = o.cacheDir === null ? null : join(o.cacheDir, `base-${baseCacheKey(o)}.safetensors`);
  if (path !== null && existsSync(path)) return { model: loadBaseModel(path), path, fromCache: true };
  const model = createBaseModel();
  initModuleParameters(model, createRng(o.seed));
  trainNetwork(model, model.parameters(), o.data, {
    epochs: o.epochs,
    batchSize: o.batchSize,
    seed: o.seed,
    classes: NUM_CLASSES,
    optimizer: { lr: o.learningRate },
    ...o.progress,
  });
  model.eval();
  if (path !== null && o.cacheDir !== null) {
    await mkdir(o.cacheDir, { recursive: true });
    await writeSafetensors(path, model.stateDict(), { metadata: { architecture: BASE_ARCHITECTURE } });
  }
  return { model, path, fromCache: false };
}
