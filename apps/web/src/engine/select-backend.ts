import { getBackend, initGpuJs, wasmSimdSupported } from "@lycoris-ts/kernels";
import type { Environment } from "./protocol";

const SOFTWARE_RENDERER = /swiftshader|llvmpipe|softpipe|software|basic render|mesa offscreen/i;

/** The WebGL renderer string of this worker's GPU, or `null` without WebGL. */
function webglRenderer(): string | null {
  if (typeof OffscreenCanvas === "undefined") return null;
  try {
    const gl = new OffscreenCanvas(1, 1).getContext("webgl2") as WebGL2RenderingContext | null;
    if (gl === null) return null;
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    return String(gl.getParameter(info === null ? gl.RENDERER : info.UNMASKED_RENDERER_WEBGL));
  } catch {
    return null;
  }
}

/**
 * Picks the kernels' backend for this browser: WebAssembly SIMD (the kernels' `auto` default), and
 * gpu.js only where WebGL reports a hardware GPU (never a software renderer such as headless
 * Chromium's SwiftShader); gpu.js is then loaded on demand and the kernels route large matmuls to it
 * only when its calibration run beats WASM.
 */
export async function selectBackend(): Promise<Environment> {
  const renderer = webglRenderer();
  let gpu = renderer === null ? "no WebGL" : `${renderer} (software: not used)`;
  if (renderer !== null && !SOFTWARE_RENDERER.test(renderer)) {
    try {
      const module = await import("gpu.js");
      const info = await initGpuJs({ module });
      gpu = `${renderer} (gpu.js ${info.mode}${info.preferred ? ", used for large matmuls" : ", slower than WASM here"})`;
    } catch (error) {
      gpu = `${renderer} (gpu.js unavailable: ${error instanceof Error ? error.message : String(error)})`;
    }
  }
  return { backend: getBackend(), wasmSimd: wasmSimdSupported(), gpu };
}
