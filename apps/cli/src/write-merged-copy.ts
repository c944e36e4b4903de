import type { FloatArray, Tensor } from "@lycoris-ts/kernels";
import {
  type FloatDtype,
  type SafetensorsReader,
  SafetensorsWriter,
  type TensorInfo,
} from "@lycoris-ts/safetensors";
import { createProgress, type Progress } from "./progress";

/** Reads a base tensor in its own precision where that is a plain typed array (F32, F64), else as float32. */
export async function readNative(reader: SafetensorsReader, info: TensorInfo): Promise<Tensor<FloatArray>> {
  if (info.dtype === "F32" || info.dtype === "F64") {
    const bytes = await reader.readBytes(info.name);
    const aligned = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
    const n = info.byteLength / (info.dtype === "F32" ? 4 : 8);
    const data =
      info.dtype === "F32"
        ? new Float32Array(aligned.buffer, aligned.byteOffset, n)
        : new Float64Array(aligned.buffer, aligned.byteOffset, n);
    return { data, shape: info.shape };
  }
  return reader.read(info.name);
}

/**
 * Writes a copy of `base` to `out` (same names, order, dtypes and metadata), one tensor at a time:
 * `replace(info)` returns the new value of a tensor or `null` to copy it unchanged. A progress bar
 * runs on stderr; the output is a temporary file renamed into place when complete, and is removed on
 * an error or on SIGINT/SIGTERM, so no partial file is ever left. Returns the number of tensors.
 */
export async function writeMergedCopy(
  base: SafetensorsReader,
  out: string,
  showProgress: boolean,
  replace: (info: TensorInfo) => Promise<Tensor<FloatArray> | null>,
): Promise<number> {
  const tensors = base.header.tensors;
  let writer: SafetensorsWriter | undefined;
  let progress: Progress = createProgress("merging", 0, "tensors", false); // shown once the output exists
  const onSignal = (signal: NodeJS.Signals) => {
    progress.stop();
    void (writer?.abort() ?? Promise.resolve()).finally(() => {
      process.stderr.write(`error: interrupted (${signal}); no output written\n`);
      process.exit(130);
    });
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    writer = await SafetensorsWriter.create(
      out,
      tensors.map((t) => ({ name: t.name, shape: t.shape, dtype: t.dtype as FloatDtype })),
      base.header.metadata === null ? {} : { metadata: base.header.metadata },
    );
    progress = createProgress("merging", tensors.length, "tensors", showProgress);
    for (const info of tensors) {
      await writer.write(info.name, (await replace(info)) ?? (await readNative(base, info)));
      progress.tick(info.name);
    }
    await writer.close();
    progress.stop();
    return tensors.length;
  } catch (error) {
    progress.stop();
    await writer?.abort();
    throw error;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
