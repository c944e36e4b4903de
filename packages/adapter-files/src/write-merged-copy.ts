import type { FloatArray, Tensor } from "@lycoris-ts/kernels";
import type { FloatDtype, TensorInfo } from "@lycoris-ts/safetensors";
import { AdapterFilesError } from "./adapter-files-error";
import type { FileOutput } from "./file-input";
import type { OnProgress } from "./progress";
import type { TensorFile } from "./tensor-file";
import { createTensorFileWriter, type TensorFileWriter } from "./tensor-file-writer";

/** Options of {@link writeMergedCopy}. */
export interface MergedCopyOptions {
  /** Called once the output exists (`done: 0`) and after every tensor. */
  readonly onProgress?: OnProgress;
  /** Stops the copy between two tensors: nothing is left at the output, the call rejects (`aborted`). */
  readonly signal?: AbortSignal;
  /**
   * Write merged tensors holding NaN / ±Inf (default false: PEFT's `safe_merge`, every merged
   * tensor is checked and the first non-finite one is refused, naming it; nothing is written).
   */
  readonly allowNonFinite?: boolean;
}

/** Refuses a merged tensor with a NaN / ±Inf value, naming it and the first such element. */
function checkFinite(name: string, value: Tensor<FloatArray>): void {
  const data = value.data;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (Number.isFinite(v)) continue;
    throw new AdapterFilesError(
      "input",
      `merged tensor '${name}' has a non-finite value (${v} at element ${i} of ${data.length}): the adapter or the scale produces NaN/Inf; nothing written (allowNonFinite / --allow-non-finite writes it anyway)`,
    );
  }
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new AdapterFilesError("aborted", "aborted; no output written");
}

/**
 * Writes a copy of `base` to `output` (same names, dtypes and metadata), one tensor at a time:
 * `replace(info)` returns the new value of a tensor, or `null` to copy its bytes unchanged. The output
 * appears only complete (a path: temporary file renamed when done); on an error or an abort nothing
 * is left. Returns the number of tensors.
 */
export async function writeMergedCopy(
  base: TensorFile,
  output: FileOutput,
  replace: (info: TensorInfo) => Promise<Tensor<FloatArray> | null>,
  opts: MergedCopyOptions = {},
): Promise<number> {
  checkAborted(opts.signal);
  const announced = base.header.tensors.map((t) => ({
    name: t.name,
    shape: t.shape,
    dtype: t.dtype as FloatDtype,
  }));
  const writer: TensorFileWriter = await createTensorFileWriter(
    output,
    announced,
    base.header.metadata === null ? {} : { metadata: base.header.metadata },
  );
  try {
    const total = writer.header.tensors.length;
    opts.onProgress?.({ task: "merge", done: 0, total, item: "" });
    let done = 0;
    for (const { name } of writer.header.tensors) {
      checkAborted(opts.signal);
      const info = base.info(name)!;
      const value = await replace(info);
      if (value === null) await writer.writeBytes(name, await base.readBytes(name));
      else {
        if (opts.allowNonFinite !== true) checkFinite(name, value);
        await writer.write(name, value);
      }
      opts.onProgress?.({ task: "merge", done: ++done, total, item: name });
    }
    await writer.close();
    return total;
  } catch (error) {
    await writer.abort();
    throw error;
  }
}
