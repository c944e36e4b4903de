import { KernelsError } from "../errors";
import { numel, type Tensor } from "../tensor";
import { type WasmMemory, wasmApi } from "./wasm-api";
import { instantiateKernels, type KernelsWasmExports, kernelsModule } from "./wasm-module";

const PAGE = 65536;

/** A tensor that lives in its own WebAssembly memory, plus the kernels instantiated over it. */
interface ResidentBlock {
  kernels: KernelsWasmExports;
  memory: WasmMemory;
  /** Float index where the scratch area (for small factors) starts, and its size in floats. */
  scratch: number;
  scratchFloats: number;
  data: Float32Array;
}

/** Resident memories by their buffer: the registry of WASM-resident tensors (weak: no leaks). */
const residents = new WeakMap<ArrayBufferLike, ResidentBlock>();

/**
 * Allocates a float32 zeros tensor whose data lives in its own WebAssembly memory (never grown, so
 * the `Float32Array` stays valid). In-place WASM ops such as `kronMergeInto` then run on it with no
 * copies: this is how merge reaches memory bandwidth. `scratchFloats` reserves room for the small
 * factors those ops copy in (default: 1/8 of the tensor, at least 64 K floats); if a call's factors
 * do not fit, it falls back to the JS loop (same result). Falls back to a plain `Float32Array` when
 * WebAssembly SIMD is unavailable.
 */
export function residentZeros(shape: readonly number[], scratchFloats?: number): Tensor<Float32Array> {
  const n = numel(shape);
  const module = kernelsModule();
  const api = wasmApi();
  if (!module || !api) return { data: new Float32Array(n), shape: [...shape] };
  const scratch = Math.max(scratchFloats ?? Math.max(65536, Math.ceil(n / 8)), 16);
  const start = (n + 3) & ~3;
  const bytes = (start + scratch) * 4;
  const pages = Math.ceil(bytes / PAGE);
  if (pages > 65536)
    throw new KernelsError("residentZeros", `${bytes} bytes exceed the 4 GiB WebAssembly memory limit`);
  const memory = new api.Memory({ initial: pages, maximum: pages });
  const kernels = instantiateKernels(module, memory);
  const data = new Float32Array(memory.buffer, 0, n);
  residents.set(memory.buffer, { kernels, memory, scratch: start, scratchFloats: scratch, data });
  return { data, shape: [...shape] };
}

/** Copies a tensor into a new WASM-resident tensor (see {@link residentZeros}). */
export function toResident(
  t: Tensor<Float32Array | Float64Array>,
  scratchFloats?: number,
): Tensor<Float32Array> {
  const r = residentZeros(t.shape, scratchFloats);
  r.data.set(t.data);
  return r;
}

/** In-place kernels for `w` if it is WASM-resident (and starts at its memory's offset 0). */
export function residentKernels(w: Float32Array): {
  kronMerge(
    w: Float32Array,
    a: Float32Array,
    p: number,
    q: number,
    b: Float32Array,
    r: number,
    sk: number,
    scale: number,
  ): boolean;
  /** `out [m, n] = x [m, k] · wᵀ` for `w [n, k]` read in place (needs `k % 16 == 0`); false if it cannot. */
  dotRowsT(x: Float32Array, m: number, n: number, k: number, out: Float32Array): boolean;
} | null {
  const block = residents.get(w.buffer);
  if (!block || w.byteOffset !== 0) return null;
  return {
    kronMerge(wv, a, p, q, b, r, sk, scale) {
      const need = ((p * q + 3) & ~3) + r * sk;
      if (need > block.scratchFloats || wv.length !== p * r * q * sk) return false;
      const f = new Float32Array(block.memory.buffer);
      const ao = block.scratch;
      const bo = ao + ((p * q + 3) & ~3);
      f.set(a.subarray(0, p * q), ao);
      f.set(b.subarray(0, r * sk), bo);
      block.kernels.kron_merge(0, 4 * ao, p, q, 4 * bo, r, sk, scale);
      return true;
    },
    dotRowsT(x, m, n, k, out) {
      const xFloats = (m * k + 3) & ~3;
      if (k % 16 !== 0 || block.data.length !== n * k || xFloats + m * n > block.scratchFloats) return false;
      const f = new Float32Array(block.memory.buffer);
      const xo = block.scratch;
      const oo = xo + xFloats;
      f.set(x.subarray(0, m * k), xo);
      block.kernels.dot_rows(4 * xo, m, 0, n, k, 4 * oo, n);
      out.set(f.subarray(oo, oo + m * n));
      return true;
    },
  };
}
