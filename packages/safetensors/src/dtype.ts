/**
 * Every element type the safetensors format defines, as spelled in a file header.
 *
 * All of them are *known*: a header that uses them is validated (element size × element
 * count = byte length). Only {@link FloatDtype} values decode to `Float32Array`; reading a
 * tensor of any other dtype as floats throws a `SafetensorsError` of kind `unsupported_dtype`.
 */
export type SafetensorsDtype =
  | "BOOL"
  | "F4"
  | "F6_E2M3"
  | "F6_E3M2"
  | "U8"
  | "I8"
  | "F8_E5M2"
  | "F8_E4M3"
  | "F8_E8M0"
  | "I16"
  | "U16"
  | "F16"
  | "BF16"
  | "I32"
  | "U32"
  | "F32"
  | "C64"
  | "F64"
  | "I64"
  | "U64";

/** The dtypes this package decodes to and encodes from `Float32Array` / `Float64Array`. */
export type FloatDtype = "F64" | "F32" | "F16" | "BF16";

/**
 * Bits per element, in the order of the reference implementation's `Dtype` enum (increasing
 * alignment). The order matters for writing: tensors are laid out by descending rank, then by
 * name, exactly as the Rust `safetensors` crate (and therefore PEFT) does.
 */
const DTYPE_BITS: ReadonlyMap<string, number> = new Map<SafetensorsDtype, number>([
  ["BOOL", 8],
  ["F4", 4],
  ["F6_E2M3", 6],
  ["F6_E3M2", 6],
  ["U8", 8],
  ["I8", 8],
  ["F8_E5M2", 8],
  ["F8_E4M3", 8],
  ["F8_E8M0", 8],
  ["I16", 16],
  ["U16", 16],
  ["F16", 16],
  ["BF16", 16],
  ["I32", 32],
  ["U32", 32],
  ["F32", 32],
  ["C64", 64],
  ["F64", 64],
  ["I64", 64],
  ["U64", 64],
]);

const DTYPE_RANK: ReadonlyMap<string, number> = new Map([...DTYPE_BITS.keys()].map((d, i) => [d, i]));

/** Whether `value` names a dtype the safetensors format defines. */
export function isSafetensorsDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === "string" && DTYPE_BITS.has(value);
}

/** Whether `dtype` decodes to floats in this package (F64, F32, F16, BF16). */
export function isFloatDtype(dtype: string): dtype is FloatDtype {
  return dtype === "F32" || dtype === "F16" || dtype === "BF16" || dtype === "F64";
}

/** Bits per element of a dtype (4 for F4, 6 for the F6 types, otherwise a multiple of 8). */
export function dtypeBits(dtype: SafetensorsDtype): number {
  return DTYPE_BITS.get(dtype) ?? 0;
}

/** Position of a dtype in the format's alignment order (used to order tensors when writing). */
export function dtypeRank(dtype: SafetensorsDtype): number {
  return DTYPE_RANK.get(dtype) ?? 0;
}
