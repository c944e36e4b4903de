import { type WasmMemory, type WasmModule, wasmApi } from "./wasm-api";
import { instantiateKernels, type KernelsWasmExports } from "./wasm-module";

const PAGE = 65536;

/**
 * The scratch memory the WASM kernels work in: one `WebAssembly.Memory` that grows when a call needs
 * more (never shrinks, so steady-state calls allocate nothing), with a bump allocator reset per call.
 */
export class WasmArena {
  readonly memory: WasmMemory;
  readonly kernels: KernelsWasmExports;
  private view: Float32Array;
  private top = 0;

  /** Floats at the start of the memory that the allocator never hands out (control words). */
  private readonly reserved: number;

  /** Uses `memory` when given (e.g. a shared one), else a fresh 1 MiB memory that grows on demand. */
  constructor(module: WasmModule, memory?: WasmMemory, reservedFloats = 0) {
    const api = wasmApi();
    if (!api) throw new Error("WebAssembly is not available");
    this.memory = memory ?? new api.Memory({ initial: 16 });
    this.kernels = instantiateKernels(module, this.memory);
    this.view = new Float32Array(this.memory.buffer);
    this.reserved = (reservedFloats + 3) & ~3;
  }

  /** Resets the allocator and makes sure `floats` floats (plus alignment slack) fit. */
  begin(floats: number): void {
    this.top = this.reserved;
    const need = (this.reserved + floats) * 4 + 64 * 16;
    const have = this.memory.buffer.byteLength;
    if (need > have) this.memory.grow(Math.ceil((need - have) / PAGE));
    if (this.view.buffer !== this.memory.buffer || this.view.length * 4 !== this.memory.buffer.byteLength) {
      this.view = new Float32Array(this.memory.buffer);
    }
  }

  /** Allocates `floats` floats (16-byte aligned) and returns the float index. */
  alloc(floats: number): number {
    const at = this.top;
    this.top = at + ((floats + 3) & ~3);
    if (this.top * 4 > this.memory.buffer.byteLength)
      throw new RangeError("WasmArena: begin() reserved too little");
    return at;
  }

  /** Float32 view of the whole memory (valid until the next `begin`). */
  get f32(): Float32Array {
    return this.view;
  }
}
