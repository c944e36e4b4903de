import { fileURLToPath } from "node:url";
import type { Tensor } from "@lycoris-ts/kernels";
import { readSafetensorsSync } from "@lycoris-ts/safetensors";

/** Reads a fixture safetensors file (by URL) with the runtime's reader; tensors in file order, as float32. */
export function readF32Safetensors(url: URL): Map<string, Tensor<Float32Array>> {
  return readSafetensorsSync(fileURLToPath(url)).tensors;
}
