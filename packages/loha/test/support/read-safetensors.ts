import { readFileSync } from "node:fs";
import type { Tensor } from "@lycoris-ts/kernels";

/**
 * Tiny private safetensors reader for the fixtures (F32 only), used until the runtime's
 * `readSafetensorsSync` lands. Layout: u64 LE header length, JSON header, data section.
 */
export function readF32Safetensors(path: string): Map<string, Tensor<Float32Array>> {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8")) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const base = 8 + n;
  const out = new Map<string, Tensor<Float32Array>>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    if (entry.dtype !== "F32") throw new Error(`${path}: ${name} is ${entry.dtype}, only F32 is supported`);
    const [begin, end] = entry.data_offsets;
    const bytes = buf.subarray(base + begin, base + end);
    const data = new Float32Array(new Uint8Array(bytes).buffer);
    out.set(name, { data, shape: entry.shape });
  }
  return out;
}
