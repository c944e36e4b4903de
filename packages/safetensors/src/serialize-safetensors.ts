import type { FloatArray, Tensor } from "@lycoris-ts/kernels";
import type { FloatDtype } from "./dtype";
import { checkedNumel, checkWriteDtype, encodeTensorData, planSafetensors } from "./plan-safetensors";
import { SafetensorsError } from "./safetensors-error";

/** Tensors to write: a map or a plain record, name → tensor. */
export type TensorsToWrite =
  | ReadonlyMap<string, Tensor<FloatArray>>
  | Readonly<Record<string, Tensor<FloatArray>>>;

/** Options of {@link serializeSafetensors} and `writeSafetensors`. */
export interface SerializeOptions {
  /** `__metadata__` (string → string), written first in the header, in the given key order. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Dtype of every tensor (default `"F32"`). */
  readonly dtype?: FloatDtype;
  /** Per-tensor dtype overrides, e.g. to write back the dtypes a file was read with. */
  readonly dtypes?: ReadonlyMap<string, FloatDtype>;
}

/** Normalises {@link TensorsToWrite} to entries. */
export function tensorEntries(tensors: TensorsToWrite): Array<[string, Tensor<FloatArray>]> {
  return tensors instanceof Map
    ? [...(tensors as ReadonlyMap<string, Tensor<FloatArray>>).entries()]
    : Object.entries(tensors as Readonly<Record<string, Tensor<FloatArray>>>);
}

/**
 * Serialises tensors to safetensors bytes, byte for byte as PEFT's `save_file` (the Rust crate)
 * writes them: tensors sorted by name (within a dtype), compact JSON header padded with spaces
 * to a multiple of 8 bytes, row-major little-endian data.
 *
 * @throws SafetensorsError when a shape does not match its data length (`size_mismatch`) or a
 *   name / shape / dtype cannot be written.
 */
export function serializeSafetensors(tensors: TensorsToWrite, opts: SerializeOptions = {}): Uint8Array {
  const entries = tensorEntries(tensors);
  const byName = new Map(entries);
  const plan = planSafetensors(
    entries.map(([name, t]) => {
      const numel = checkedNumel(name, t.shape);
      if (t.data.length !== numel) {
        throw new SafetensorsError(
          "size_mismatch",
          name,
          `${numel} values for shape [${t.shape.join(", ")}]`,
          `${t.data.length} values`,
        );
      }
      return {
        name,
        shape: t.shape,
        dtype: checkWriteDtype(name, opts.dtypes?.get(name) ?? opts.dtype ?? "F32"),
      };
    }),
    opts.metadata ?? null,
  );
  const out = new Uint8Array(plan.fileSize);
  out.set(plan.headerBytes, 0);
  for (const p of plan.tensors) {
    const t = byName.get(p.name)!;
    out.set(encodeTensorData(checkWriteDtype(p.name, p.dtype), t.data), plan.dataOffset + p.begin);
  }
  return out;
}
