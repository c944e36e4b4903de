import type { F32Kernels } from "./f32-kernels";

/** The gpu.js backend, once `initGpuJs` has loaded gpu.js. */
export function getGpuJsBackend(): F32Kernels | undefined {
  return undefined;
}

/** True when gpu.js runs on a hardware GPU adapter and its calibration beat the CPU backends. */
export function gpuJsPreferred(): boolean {
  return false;
}
