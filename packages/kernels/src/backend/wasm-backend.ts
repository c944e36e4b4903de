import type { F32Kernels } from "./f32-kernels";

/** Whether this runtime can run the WebAssembly SIMD kernels. */
export function wasmSimdSupported(): boolean {
  return false;
}

/** The WebAssembly SIMD backend (instantiated lazily on first call). */
export function getWasmBackend(): F32Kernels | undefined {
  return undefined;
}
