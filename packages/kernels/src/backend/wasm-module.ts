import { kernelsWasmBase64 } from "../generated/kernels-wasm";
import { type WasmMemory, type WasmModule, wasmApi } from "./wasm-api";

/** The exports of wasm/kernels.wat (pointers are byte offsets into the instance's memory). */
export interface KernelsWasmExports {
  dot_rows(x: number, m: number, w: number, n: number, k16: number, out: number, ldo: number): void;
  pack_a(src: number, rs: number, cs: number, rows: number, kc: number, dst: number): void;
  pack_b(src: number, rs: number, cs: number, kc: number, cols: number, dst: number): void;
  gebp(
    pa: number,
    pb: number,
    c: number,
    mc: number,
    nc: number,
    kc: number,
    ldcBytes: number,
    acc: number,
  ): void;
  axpy(dst: number, src: number, n: number, s: number): void;
  kron_merge(
    w: number,
    a: number,
    p: number,
    q: number,
    b: number,
    r: number,
    sk: number,
    scale: number,
  ): void;
  loha_rows(
    a1: number,
    b1: number,
    a2: number,
    b2: number,
    rows: number,
    cols: number,
    width: number,
    r1: number,
    r2: number,
    scale: number,
    out: number,
  ): void;
  loha_rows16(
    a1: number,
    b1: number,
    a2: number,
    b2: number,
    rows: number,
    cols: number,
    width: number,
    r1: number,
    r2: number,
    scale: number,
    out: number,
  ): void;
}

/** Compiled-module cache (the registry's only WASM state); `null` means compilation failed. */
const cache: { module: WasmModule | null | undefined } = { module: undefined };

/** Decodes base64 (atob exists in Node ≥ 16 and every browser). */
export function decodeBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * The compiled kernels module, compiled synchronously on first use (2 KB, so this is allowed on a
 * browser main thread too), or `null` when WebAssembly SIMD is unavailable.
 */
export function kernelsModule(): WasmModule | null {
  if (cache.module === undefined) {
    const api = wasmApi();
    try {
      cache.module = api ? new api.Module(decodeBase64(kernelsWasmBase64)) : null;
    } catch {
      cache.module = null;
    }
  }
  return cache.module;
}

/** Instantiates the kernels over `memory`. */
export function instantiateKernels(module: WasmModule, memory: WasmMemory): KernelsWasmExports {
  const api = wasmApi();
  if (!api) throw new Error("WebAssembly is not available");
  const instance = new api.Instance(module, { env: { memory } });
  return instance.exports as unknown as KernelsWasmExports;
}
