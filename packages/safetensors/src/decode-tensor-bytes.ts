import { decodeBF16, decodeF16, type Tensor } from "@lycoris-ts/kernels";
import { isFloatDtype, type SafetensorsDtype } from "./dtype";
import { SafetensorsError } from "./safetensors-error";

const littleEndian = (): boolean => new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Decodes one tensor's raw little-endian bytes (exactly its `byteLength`) to a float32 tensor.
 * F32 is copied bit for bit, F16/BF16 exactly, F64 rounded to nearest float32. With `out` (at least
 * as many values as the tensor), the values go there and the result's `data` is its prefix: one
 * buffer can serve every tensor of a file.
 *
 * @throws SafetensorsError `unsupported_dtype` for integer, bool, complex and 4/6/8-bit float
 *   dtypes; `size_mismatch` when the byte count does not fit the shape.
 */
export function decodeTensorBytes(
  name: string,
  dtype: SafetensorsDtype,
  shape: readonly number[],
  bytes: Uint8Array,
  out?: Float32Array,
): Tensor<Float32Array> {
  if (!isFloatDtype(dtype)) {
    throw new SafetensorsError("unsupported_dtype", name, "F32, F16, BF16 or F64 to read as floats", dtype);
  }
  let numel = 1;
  for (const d of shape) numel *= d;
  const width = dtype === "F64" ? 8 : dtype === "F32" ? 4 : 2;
  if (bytes.length !== numel * width) {
    throw new SafetensorsError(
      "size_mismatch",
      name,
      `${numel * width} bytes (shape [${shape.join(", ")}] × ${dtype})`,
      `${bytes.length} bytes`,
    );
  }
  if (out !== undefined && out.length < numel) {
    throw new SafetensorsError(
      "size_mismatch",
      name,
      `an output of at least ${numel} values`,
      `${out.length}`,
    );
  }
  let data: Float32Array;
  if (dtype === "F16") data = decodeF16(bytes, out);
  else if (dtype === "BF16") data = decodeBF16(bytes, out);
  else if (dtype === "F32") {
    data = out?.subarray(0, numel) ?? new Float32Array(numel);
    if (littleEndian()) new Uint8Array(data.buffer, data.byteOffset, bytes.length).set(bytes);
    else {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = 0; i < numel; i++) data[i] = view.getFloat32(4 * i, true);
    }
  } else {
    data = out?.subarray(0, numel) ?? new Float32Array(numel);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < numel; i++) data[i] = view.getFloat64(8 * i, true);
  }
  return { data, shape: [...shape] };
}
