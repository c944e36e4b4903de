import { encodeBF16, encodeF16, type FloatArray } from "@lycoris-ts/kernels";
import {
  dtypeBits,
  dtypeRank,
  type FloatDtype,
  isFloatDtype,
  isSafetensorsDtype,
  type SafetensorsDtype,
} from "./dtype";
import { SafetensorsError } from "./safetensors-error";

/** A tensor's place in a file about to be written. */
export interface PlannedTensor {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** Offset relative to the data section. */
  readonly begin: number;
  readonly end: number;
}

/** The header bytes (8-byte length included) and the data layout of a file to write. */
export interface SafetensorsPlan {
  readonly headerBytes: Uint8Array;
  readonly tensors: readonly PlannedTensor[];
  readonly dataOffset: number;
  readonly fileSize: number;
}

const littleEndian = (): boolean => new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const utf8 = new TextEncoder();

const compareUtf8 = (a: string, b: string): number => {
  // Rust orders `String`s by their UTF-8 bytes; JS `<` compares UTF-16 code units.
  const ba = utf8.encode(a);
  const bb = utf8.encode(b);
  const n = Math.min(ba.length, bb.length);
  for (let i = 0; i < n; i++) {
    const d = ba[i]! - bb[i]!;
    if (d !== 0) return d;
  }
  return ba.length - bb.length;
};

/** Checks a dtype requested for writing. */
export function checkWriteDtype(name: string, dtype: string): FloatDtype {
  if (!isFloatDtype(dtype)) {
    throw new SafetensorsError("unsupported_dtype", name, "F32, F16, BF16 or F64 to write floats", dtype);
  }
  return dtype;
}

/** Element count of a shape given for writing; throws on negative, fractional or huge dims. */
export function checkedNumel(name: string, shape: readonly number[]): number {
  let numel = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new SafetensorsError("invalid_header", name, "shape of integers >= 0", `[${shape.join(", ")}]`);
    }
    numel *= d;
  }
  if (!Number.isSafeInteger(numel * 8)) {
    throw new SafetensorsError("size_mismatch", name, "fewer than 2^50 elements", `[${shape.join(", ")}]`);
  }
  return numel;
}

/**
 * Lays out tensors the way the Rust `safetensors` crate (used by PEFT) does: sorted by
 * descending dtype alignment, then by name (UTF-8 byte order); header JSON compact with
 * `__metadata__` first, then the tensors in data order; padded with spaces to a multiple of 8.
 */
export function planSafetensors(
  entries: ReadonlyArray<{
    readonly name: string;
    readonly dtype: SafetensorsDtype;
    readonly shape: readonly number[];
  }>,
  metadata: Readonly<Record<string, string>> | null | undefined,
): SafetensorsPlan {
  const seen = new Set<string>();
  for (const e of entries) {
    if (e.name === "__metadata__") {
      throw new SafetensorsError("invalid_header", e.name, "a tensor name other than __metadata__", e.name);
    }
    if (seen.has(e.name)) {
      throw new SafetensorsError("invalid_header", e.name, "unique tensor names", "a duplicate");
    }
    seen.add(e.name);
    if (!isSafetensorsDtype(e.dtype)) {
      throw new SafetensorsError("unknown_dtype", e.name, "a safetensors dtype", String(e.dtype));
    }
  }
  const sorted = [...entries].sort(
    (a, b) => dtypeRank(b.dtype) - dtypeRank(a.dtype) || compareUtf8(a.name, b.name),
  );
  const parts: string[] = [];
  if (metadata != null) {
    const meta: string[] = [];
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") {
        throw new SafetensorsError("invalid_header", `__metadata__.${k}`, "a string value", typeof v);
      }
      meta.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
    }
    parts.push(`"__metadata__":{${meta.join(",")}}`);
  }
  const tensors: PlannedTensor[] = [];
  let offset = 0;
  for (const e of sorted) {
    const numel = checkedNumel(e.name, e.shape);
    const bits = numel * dtypeBits(e.dtype);
    if (bits % 8 !== 0) {
      throw new SafetensorsError(
        "size_mismatch",
        e.name,
        `a whole number of bytes for shape [${e.shape.join(", ")}] × ${e.dtype}`,
        `${bits} bits`,
      );
    }
    const size = bits / 8;
    tensors.push({ name: e.name, dtype: e.dtype, shape: [...e.shape], begin: offset, end: offset + size });
    parts.push(
      `${JSON.stringify(e.name)}:{"dtype":"${e.dtype}","shape":[${e.shape.join(",")}],"data_offsets":[${offset},${offset + size}]}`,
    );
    offset += size;
  }
  const json = utf8.encode(`{${parts.join(",")}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  const headerBytes = new Uint8Array(8 + padded).fill(0x20, 8 + json.length);
  new DataView(headerBytes.buffer).setBigUint64(0, BigInt(padded), true);
  headerBytes.set(json, 8);
  return { headerBytes, tensors, dataOffset: 8 + padded, fileSize: 8 + padded + offset };
}

/**
 * Encodes float values as little-endian bytes of `dtype` (F16/BF16 round to nearest even). Without
 * `out`, F32 / F64 data of the matching array type is returned as a view (no copy) on little-endian
 * machines; with `out` (at least the encoded byte count), the bytes go there and the result is its
 * prefix, so one buffer can serve every tensor of a file.
 */
export function encodeTensorData(dtype: FloatDtype, data: FloatArray, out?: Uint8Array): Uint8Array {
  const width = dtype === "F64" ? 8 : dtype === "F32" ? 4 : 2;
  if (out !== undefined && out.length < data.length * width) {
    throw new SafetensorsError(
      "size_mismatch",
      dtype,
      `an output of at least ${data.length * width} bytes`,
      `${out.length}`,
    );
  }
  switch (dtype) {
    case "F16":
      return encodeF16(data instanceof Float32Array ? data : Float32Array.from(data), out);
    case "BF16":
      return encodeBF16(data instanceof Float32Array ? data : Float32Array.from(data), out);
    case "F32":
      return encodeWide(data, 4, out);
    case "F64":
      return encodeWide(data, 8, out);
  }
}

function encodeWide(data: FloatArray, width: 4 | 8, out: Uint8Array | undefined): Uint8Array {
  const n = data.length;
  const same = width === 4 ? data instanceof Float32Array : data instanceof Float64Array;
  if (out === undefined && same && littleEndian())
    return new Uint8Array(data.buffer, data.byteOffset, n * width);
  const bytes = out?.subarray(0, n * width) ?? new Uint8Array(n * width);
  if (littleEndian() && bytes.byteOffset % width === 0) {
    const view =
      width === 4
        ? new Float32Array(bytes.buffer, bytes.byteOffset, n)
        : new Float64Array(bytes.buffer, bytes.byteOffset, n);
    if (view.buffer !== data.buffer || view.byteOffset !== data.byteOffset || !same) view.set(data);
    return bytes;
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) {
    if (width === 4) dv.setFloat32(4 * i, data[i]!, true);
    else dv.setFloat64(8 * i, data[i]!, true);
  }
  return bytes;
}
