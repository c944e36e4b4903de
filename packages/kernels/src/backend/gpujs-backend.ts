import { KernelsError } from "../errors";
import type { F32Kernels } from "./f32-kernels";
import { getWasmBackend } from "./wasm-backend";

/*
 * gpu.js backend. gpu.js is an optional peer dependency: it is loaded at run time, by `initGpuJs` (a
 * dynamic import, or the module passed in) or, in Node, synchronously on first use when `gpu.js` is chosen
 * by `setBackend` / `LYCORIS_BACKEND` before `initGpuJs`. gpu.js re-uploads every array argument per call
 * and reads results back, so it only pays for large matmuls on a real GPU; `auto` uses it only when a
 * hardware adapter is detected and a calibration run beats the WASM backend.
 */

/** What to do when gpu.js is missing. */
const INSTALL_HINT = "install it (`npm install gpu.js`) to enable the GPU backend";

interface GpuJsKernel {
  (...args: unknown[]): unknown;
  setOutput(output: number[]): GpuJsKernel;
}

interface GpuJsInstance {
  readonly mode: string;
  createKernel(fn: (this: GpuThis, a: number[][], b: number[][]) => number, settings: object): GpuJsKernel;
  destroy?(): void;
}

/** A right-hand matmul operand kept on the GPU: a gpu.js texture (GPU modes) or its 2-D array (CPU modes). */
interface ResidentOperand {
  /** `[k, n]` row-major values as uploaded (already transposed when registered for `transB`). */
  readonly k: number;
  readonly n: number;
  readonly value: unknown;
}

/**
 * Operands registered with {@link gpuResident}, by array and orientation. gpu.js re-uploads every plain
 * array argument on each call; a registered weight is uploaded once and reused until released or
 * re-registered (the caller re-registers after changing the values, e.g. after a merge).
 */
const resident = new WeakMap<Float32Array, { plain?: ResidentOperand; transposed?: ResidentOperand }>();
let residentUploads = 0;

interface GpuThis {
  readonly thread: { readonly x: number; readonly y: number };
  readonly constants: { readonly k: number };
}

/** The parts of the `gpu.js` module the backend uses. */
export interface GpuJsModule {
  GPU: new (settings?: { mode?: string }) => GpuJsInstance;
  input(value: Float32Array, size: number[]): unknown;
}

/** Options of {@link initGpuJs}. */
export interface GpuJsOptions {
  /** The gpu.js module (e.g. `import * as gpujs from "gpu.js"`); imported dynamically when omitted. */
  readonly module?: unknown;
  /** gpu.js mode (`"gpu"`, `"webgl2"`, `"webasm"`, `"cpu"`, …); gpu.js picks the best when omitted. */
  readonly mode?: string;
  /** Largest output tile per kernel call (default: the WebGL max texture size, at most 8192). */
  readonly maxTextureSize?: number;
  /** Time a 512² matmul against WASM when a hardware adapter is present (default true). */
  readonly calibrate?: boolean;
}

/** What {@link initGpuJs} found. */
export interface GpuJsInfo {
  /** The mode gpu.js runs in (`webgl2`, `webgpu`, `headlessgl`, `webasm`, `cpu`, …). */
  readonly mode: string;
  /** The GPU renderer string, when one could be read. */
  readonly renderer: string | undefined;
  /** True for a hardware adapter (not SwiftShader, llvmpipe or another software/fallback one). */
  readonly hardware: boolean;
  /** True when `auto` will route large matmuls to gpu.js (hardware and calibration won). */
  readonly preferred: boolean;
  readonly maxTextureSize: number;
}

const state: {
  gpu: GpuJsInstance | undefined;
  module: GpuJsModule | undefined;
  backend: F32Kernels | undefined;
  info: GpuJsInfo | undefined;
} = { gpu: undefined, module: undefined, backend: undefined, info: undefined };

const SOFTWARE = /swiftshader|llvmpipe|softpipe|software|microsoft basic render|fallback/i;

function webglRenderer(): { renderer: string | undefined; maxTexture: number | undefined } {
  const doc = (globalThis as { document?: { createElement(tag: string): unknown } }).document;
  if (!doc) return { renderer: undefined, maxTexture: undefined };
  const canvas = doc.createElement("canvas") as { getContext(kind: string): unknown };
  const gl = canvas.getContext("webgl2") as {
    getExtension(name: string): { UNMASKED_RENDERER_WEBGL: number } | null;
    getParameter(p: number): unknown;
    RENDERER: number;
    MAX_TEXTURE_SIZE: number;
  } | null;
  if (!gl) return { renderer: undefined, maxTexture: undefined };
  const ext = gl.getExtension("WEBGL_debug_renderer_info");
  const renderer = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  return { renderer, maxTexture: Number(gl.getParameter(gl.MAX_TEXTURE_SIZE)) };
}

function transposed(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j]!;
  return t;
}

function createGpuJsBackend(mod: GpuJsModule, gpu: GpuJsInstance, maxTex: number): F32Kernels {
  // One kernel per (k, operand kind): a gpu.js kernel compiled for array inputs must not be fed a texture.
  const kernels = new Map<string, GpuJsKernel>();
  const residentB = (b: Float32Array, transB: boolean, k: number, n: number): unknown => {
    const entry = resident.get(b);
    const r = transB ? entry?.transposed : entry?.plain;
    return r !== undefined && r.k === k && r.n === n ? r.value : undefined;
  };
  const kernelFor = (k: number, textureB: boolean): GpuJsKernel => {
    const key = `${k}:${textureB ? "texture" : "array"}`;
    let kern = kernels.get(key);
    if (!kern) {
      kern = gpu.createKernel(
        function (this: GpuThis, a: number[][], b: number[][]): number {
          let sum = 0;
          for (let i = 0; i < this.constants.k; i++) sum += a[this.thread.y]![i]! * b[i]![this.thread.x]!;
          return sum;
        },
        {
          constants: { k },
          dynamicOutput: true,
          dynamicArguments: true,
          output: [1, 1],
          precision: "single",
        },
      );
      kernels.set(key, kern);
    }
    return kern;
  };
  return {
    name: "gpu.js",
    matmul(a, b, m, n, k, transA, transB, out) {
      const am = transA ? transposed(a, k, m) : a;
      const onGpu = n <= maxTex ? residentB(b, transB, k, n) : undefined;
      const kern = kernelFor(k, onGpu !== undefined);
      if (onGpu !== undefined) {
        for (let i0 = 0; i0 < m; i0 += maxTex) {
          const mt = Math.min(maxTex, m - i0);
          kern.setOutput([n, mt]);
          const res = kern(mod.input(am.subarray(i0 * k, (i0 + mt) * k), [k, mt]), onGpu) as ArrayLike<
            ArrayLike<number>
          >;
          for (let i = 0; i < mt; i++) {
            const row = res[i]!;
            const o = (i0 + i) * n;
            for (let j = 0; j < n; j++) out[o + j] = row[j]!;
          }
        }
        return;
      }
      const bm = transB ? transposed(b, n, k) : b;
      // Tile the output so no kernel output exceeds the max texture size (8192 on SwiftShader).
      for (let i0 = 0; i0 < m; i0 += maxTex) {
        const mt = Math.min(maxTex, m - i0);
        const aTile = am.subarray(i0 * k, (i0 + mt) * k);
        for (let j0 = 0; j0 < n; j0 += maxTex) {
          const nt = Math.min(maxTex, n - j0);
          let bTile = bm;
          if (nt !== n) {
            bTile = new Float32Array(k * nt);
            for (let p = 0; p < k; p++) bTile.set(bm.subarray(p * n + j0, p * n + j0 + nt), p * nt);
          }
          kern.setOutput([nt, mt]);
          const res = kern(
            mod.input(aTile, [k, mt]),
            mod.input(bTile.subarray(0, k * nt), [nt, k]),
          ) as ArrayLike<ArrayLike<number>>;
          for (let i = 0; i < mt; i++) {
            const row = res[i]!;
            const o = (i0 + i) * n + j0;
            for (let j = 0; j < nt; j++) out[o + j] = row[j]!;
          }
        }
      }
    },
  };
}

function asGpuJsModule(m: unknown): GpuJsModule {
  const cand = m as Partial<GpuJsModule> & { default?: Partial<GpuJsModule> };
  const mod = typeof cand.GPU === "function" ? cand : cand.default;
  if (!mod || typeof mod.GPU !== "function" || typeof mod.input !== "function") {
    throw new KernelsError(
      "initGpuJs",
      "the given module does not look like gpu.js (no GPU / input exports)",
    );
  }
  return mod as GpuJsModule;
}

function isModuleNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND";
}

/** The error for a gpu.js that could not be loaded: not installed (with the hint), or broken. */
function loadError(op: string, err: unknown): KernelsError {
  return isModuleNotFound(err)
    ? new KernelsError(
        op,
        `the gpu.js backend needs the gpu.js package, which is not installed: ${INSTALL_HINT}`,
      )
    : new KernelsError(op, `gpu.js is installed but failed to load: ${String(err)}`);
}

/**
 * Loads gpu.js (an optional peer dependency: `npm install gpu.js`) and registers the `gpu.js` backend.
 * Detects whether a hardware adapter is present and, if so, calibrates it against WASM; only then does
 * `auto` use it.
 */
export async function initGpuJs(options: GpuJsOptions = {}): Promise<GpuJsInfo> {
  let raw = options.module;
  if (raw === undefined) {
    try {
      raw = await import("gpu.js");
    } catch (err) {
      throw loadError("initGpuJs", err);
    }
  }
  return setUpGpuJs(asGpuJsModule(raw), options);
}

/**
 * Node's `require`, resolving from where this package is installed (so a `gpu.js` installed next to it is
 * found), or `undefined` outside Node.
 */
function nodeRequire(): ((id: string) => unknown) | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const nodeModule = proc?.getBuiltinModule?.("node:module") as
    | { createRequire(from: string): (id: string) => unknown }
    | undefined;
  return nodeModule?.createRequire(import.meta.url);
}

/**
 * The gpu.js backend for `op` (`setBackend`, `LYCORIS_BACKEND`): the one `initGpuJs` set up, else, in
 * Node, gpu.js loaded synchronously now by `load` (default: `require` from this package) and set up with
 * the default options. Throws a {@link KernelsError} that says how to install gpu.js when it is missing.
 */
export function requireGpuJsBackend(
  op: string,
  load: ((id: string) => unknown) | undefined = nodeRequire(),
): F32Kernels {
  if (state.backend) return state.backend;
  if (load === undefined) {
    throw new KernelsError(
      op,
      "the gpu.js backend is not loaded: call `await initGpuJs()` first (in a browser, `initGpuJs({ module })`)",
    );
  }
  let raw: unknown;
  try {
    raw = load("gpu.js");
  } catch (err) {
    throw loadError(op, err);
  }
  setUpGpuJs(asGpuJsModule(raw), {});
  return state.backend!;
}

function setUpGpuJs(mod: GpuJsModule, options: GpuJsOptions): GpuJsInfo {
  state.gpu?.destroy?.();
  const gpu = new mod.GPU(options.mode ? { mode: options.mode } : {});
  const { renderer, maxTexture } = webglRenderer();
  const maxTex = Math.max(1, Math.min(options.maxTextureSize ?? 8192, maxTexture ?? 8192));
  const gpuMode = ["webgl", "webgl2", "headlessgl", "webgpu", "gpu"].includes(gpu.mode);
  const hardware = gpuMode && renderer !== undefined && !SOFTWARE.test(renderer);
  state.module = mod;
  state.gpu = gpu;
  state.backend = createGpuJsBackend(mod, gpu, maxTex);
  let preferred = false;
  if (hardware && options.calibrate !== false) preferred = calibrate(state.backend);
  state.info = { mode: gpu.mode, renderer, hardware, preferred, maxTextureSize: maxTex };
  return state.info;
}

function calibrate(gpuBackend: F32Kernels): boolean {
  const wasm = getWasmBackend();
  if (!wasm) return true;
  const n = 512;
  const a = new Float32Array(n * n).fill(0.5);
  const out = new Float32Array(n * n);
  const time = (be: F32Kernels) => {
    be.matmul(a, a, n, n, n, false, false, out);
    const t0 = performance.now();
    be.matmul(a, a, n, n, n, false, false, out);
    return performance.now() - t0;
  };
  return time(gpuBackend) < time(wasm);
}

/**
 * Keeps `t` on the GPU as the right-hand operand of later gpu.js matmuls (`x · t`, or `x · tᵀ` with
 * `transpose`), so it is uploaded once instead of on every call — for weights that many calls reuse.
 * Call again after changing `t`'s values; {@link releaseGpuResident} drops it. A no-op (returns false)
 * until {@link initGpuJs} has run, or when `t` is wider than the max texture size.
 */
export function gpuResident(
  t: { readonly data: Float32Array; readonly shape: readonly number[] },
  transpose = false,
): boolean {
  const g = state.gpu;
  const mod = state.module;
  const info = state.info;
  if (!g || !mod || !info || t.shape.length !== 2) return false;
  const [rows, cols] = [t.shape[0]!, t.shape[1]!];
  const [k, n] = transpose ? [cols, rows] : [rows, cols];
  if (n > info.maxTextureSize || k > info.maxTextureSize) return false;
  const values = transpose ? transposed(t.data, rows, cols) : t.data;
  const upload = g.createKernel(
    function (this: GpuThis, a: number[][]): number {
      return a[this.thread.y]![this.thread.x]!;
    } as unknown as (this: GpuThis, a: number[][], b: number[][]) => number,
    { output: [n, k], pipeline: true, precision: "single" },
  );
  const value = upload(mod.input(values, [n, k]));
  residentUploads += 1;
  const entry = resident.get(t.data) ?? {};
  entry[transpose ? "transposed" : "plain"] = { k, n, value };
  resident.set(t.data, entry);
  return true;
}

/** Stops keeping `t` on the GPU (see {@link gpuResident}). */
export function releaseGpuResident(t: { readonly data: Float32Array }): void {
  resident.delete(t.data);
}

/** How many operands {@link gpuResident} has uploaded so far (for tests and diagnostics). */
export function gpuResidentUploads(): number {
  return residentUploads;
}

/** The gpu.js backend, once `initGpuJs` has loaded gpu.js. */
export function getGpuJsBackend(): F32Kernels | undefined {
  return state.backend;
}

/** True when gpu.js runs on a hardware GPU adapter and its calibration beat the CPU backends. */
export function gpuJsPreferred(): boolean {
  return state.info?.preferred ?? false;
}
