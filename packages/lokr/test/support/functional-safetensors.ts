// Test-only: a tiny F32/F64 safetensors reader for the functional tests, used until
// `readSafetensorsSync` from @lycoris-ts/runtime is available. Not a general reader: no validation
// beyond what the tests need.
import { readFileSync } from "node:fs";
import type { Tensor } from "@lycoris-ts/kernels";

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export function readF32Safetensors(path: string): Map<string, Tensor<Float32Array>> {
  const buf = readFileSync(path);
  const headerLen = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString("utf8")) as Record<string, unknown>;
  const base = 8 + headerLen;
  const out = new Map<string, Tensor<Float32Array>>();
  for (const [name, raw] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const e = raw as HeaderEntry;
    const [begin, end] = e.data_offsets;
    const bytes = buf.subarray(base + begin, base + end);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let data: Float32Array;
    if (e.dtype === "F32") {
      data = new Float32Array(bytes.byteLength / 4);
      for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(i * 4, true);
    } else if (e.dtype === "F64") {
      data = new Float32Array(bytes.byteLength / 8);
      for (let i = 0; i < data.length; i++) data[i] = view.getFloat64(i * 8, true);
    } else {
      throw new Error(`test reader: unsupported dtype ${e.dtype} for ${name}`);
    }
    out.set(name, { data, shape: e.shape });
  }
  return out;
}
