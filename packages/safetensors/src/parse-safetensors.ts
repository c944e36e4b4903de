import type { Tensor } from "@lycoris-ts/kernels";
import { decodeTensorBytes } from "./decode-tensor-bytes";
import type { SafetensorsDtype } from "./dtype";
import { type ParseHeaderOptions, parseSafetensorsHeader } from "./parse-safetensors-header";

/** Options of {@link parseSafetensors}. */
export interface ParseSafetensorsOptions extends Pick<ParseHeaderOptions, "maxHeaderBytes"> {
  /**
   * What to do with tensors whose dtype does not decode to floats (integers, bool, ...):
   * `"error"` (default) throws `SafetensorsError` `unsupported_dtype`; `"skip"` leaves them out
   * of `tensors` (they stay listed in `dtypes`).
   */
  readonly unsupported?: "error" | "skip";
}

/** A fully decoded safetensors file. */
export interface SafetensorsContents {
  /** Every tensor, decoded to float32, in file order. */
  readonly tensors: Map<string, Tensor<Float32Array>>;
  /** The dtype each tensor had in the file. */
  readonly dtypes: Map<string, SafetensorsDtype>;
  /** The `__metadata__` map, or `null`. */
  readonly metadata: Record<string, string> | null;
}

/**
 * Parses a whole safetensors file held in memory: validates the header (see
 * `parseSafetensorsHeader`) and decodes every tensor to float32.
 *
 * @throws SafetensorsError on any invalid or unsupported content.
 */
export function parseSafetensors(bytes: Uint8Array, opts: ParseSafetensorsOptions = {}): SafetensorsContents {
  const header = parseSafetensorsHeader(
    bytes,
    opts.maxHeaderBytes === undefined ? {} : { maxHeaderBytes: opts.maxHeaderBytes },
  );
  const tensors = new Map<string, Tensor<Float32Array>>();
  const dtypes = new Map<string, SafetensorsDtype>();
  for (const info of header.tensors) {
    dtypes.set(info.name, info.dtype);
    if (opts.unsupported === "skip" && !["F32", "F16", "BF16", "F64"].includes(info.dtype)) continue;
    const raw = bytes.subarray(info.byteOffset, info.byteOffset + info.byteLength);
    tensors.set(info.name, decodeTensorBytes(info.name, info.dtype, info.shape, raw));
  }
  return { tensors, dtypes, metadata: header.metadata === null ? null : { ...header.metadata } };
}
