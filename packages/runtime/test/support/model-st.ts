import { readFileSync } from "node:fs";
import type { Tensor } from "@lycoris-ts/kernels";

/**
 * Test-only F32 safetensors reader for the model tests (kept private so these
 * tests do not depend on the io module's progress). Returns tensors in header order.
 */
export function readF32Safetensors(path: string | URL): Map<string, Tensor<Float32Array>> {
  const bytes = readFileSync(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen))) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const base = 8 + headerLen;
  const out = new Map<string, Tensor<Float32Array>>();
  const entries = Object.entries(header).filter(([k]) => k !== "__metadata__");
  for (const [name, e] of entries) {
    if (e.dtype !== "F32")
      throw new Error(`test reader: ${name} has dtype ${e.dtype}, only F32 is supported`);
    const [begin, end] = e.data_offsets;
    const copy = bytes.slice(base + begin, base + end);
    out.set(name, {
      data: new Float32Array(copy.buffer, copy.byteOffset, (end - begin) / 4),
      shape: e.shape,
    });
  }
  return out;
}
