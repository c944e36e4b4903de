import { readFileSync } from "node:fs";
import type { Tensor } from "../src/index";

/**
 * Minimal F32-only safetensors reader for the PEFT fixtures (8-byte LE header length, JSON header,
 * row-major data). Test-only: the runtime package owns the real reader.
 */
export function readSafetensorsF32(path: string | URL): Map<string, Tensor<Float32Array>> {
  const bytes = readFileSync(path);
  const headerLen = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLen).toString("utf8")) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const base = 8 + headerLen;
  const out = new Map<string, Tensor<Float32Array>>();
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    if (info.dtype !== "F32") throw new Error(`${name}: dtype ${info.dtype} is not F32`);
    const [begin, end] = info.data_offsets;
    const copy = new Uint8Array(bytes.subarray(base + begin, base + end));
    out.set(name, { data: new Float32Array(copy.buffer), shape: info.shape });
  }
  return out;
}
