// Test-only: reads a fixture safetensors file through @lycoris-ts/runtime's reader.
import type { Tensor } from "@lycoris-ts/kernels";
import { readSafetensorsSync } from "@lycoris-ts/safetensors";

export function readF32Safetensors(path: string): Map<string, Tensor<Float32Array>> {
  return readSafetensorsSync(path).tensors;
}
