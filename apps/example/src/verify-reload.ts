import { spawnSync } from "node:child_process";
import { tensor } from "@lycoris-ts/kernels";
import { loadPeftModel } from "@lycoris-ts/runtime";
import { readSafetensorsSync, writeSafetensors } from "@lycoris-ts/safetensors";
import { registerVariants } from "./adapter-config";
import { loadBaseModel } from "./base-model";
import { IMAGE_SIZE } from "./data";
import { compareLogits, type LogitsComparison, predictLogits } from "./evaluate";
import { NUM_CLASSES } from "./model";

/** What a reload check needs: the base weights, the adapter directory, and the expected logits. */
export interface ReloadCheckFiles {
  /** Base model weights (safetensors). */
  readonly baseFile: string;
  /** The saved PEFT adapter directory. */
  readonly adapterDir: string;
  /** A safetensors file with `images` `[n, 1, 14, 14]` and the expected `logits` `[n, 5]`. */
  readonly checkFile: string;
}

/** Writes the images and the logits the reloaded model must reproduce. */
export async function writeCheckFile(
  path: string,
  images: Float32Array,
  logits: Float32Array,
): Promise<void> {
  const n = logits.length / NUM_CLASSES;
  await writeSafetensors(path, {
    images: tensor(images, [n, 1, IMAGE_SIZE, IMAGE_SIZE]),
    logits: tensor(logits, [n, NUM_CLASSES]),
  });
}

/**
 * Builds a fresh base model from `baseFile`, loads the adapter directory into
 * it (PEFT's `PeftModel.from_pretrained`), and compares its eval-mode logits
 * with the expected ones.
 */
export async function checkReload(files: ReloadCheckFiles): Promise<LogitsComparison> {
  registerVariants();
  const check = readSafetensorsSync(files.checkFile).tensors;
  const images = check.get("images");
  const expected = check.get("logits");
  if (images === undefined || expected === undefined) {
    throw new Error(`${files.checkFile}: expected tensors 'images' and 'logits'`);
  }
  const peft = await loadPeftModel(loadBaseModel(files.baseFile), files.adapterDir);
  const n = expected.shape[0]!;
  const data = { n, images: images.data, labels: new Int32Array(n) };
  return compareLogits(expected.data, predictLogits(peft, data), NUM_CLASSES);
}

/**
 * Runs {@link checkReload} in a fresh Node process (`node <script> --verify
 * <dir> --base <file> --check <file>`), which prints the comparison as JSON.
 */
export function checkReloadInSubprocess(script: string, files: ReloadCheckFiles): LogitsComparison {
  const args = [script, "--verify", files.adapterDir, "--base", files.baseFile, "--check", files.checkFile];
  const res = spawnSync(process.execPath, args, { encoding: "utf8" });
  const line = res.stdout.trim().split("\n").pop() ?? "";
  try {
    const parsed = JSON.parse(line) as { sameArgmax: boolean; maxAbsDiff: number | null };
    return { sameArgmax: parsed.sameArgmax, maxAbsDiff: parsed.maxAbsDiff ?? Number.POSITIVE_INFINITY };
  } catch {
    throw new Error(`reload check process failed (exit ${res.status}): ${res.stderr.trim() || line}`);
  }
}
