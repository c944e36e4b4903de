import { KernelsError } from "../errors";
import { kernelsSharedWasmBase64, SHARED_MAX_PAGES } from "../generated/kernels-wasm";
import { type WasmModule, wasmApi } from "./wasm-api";
import { WasmArena } from "./wasm-arena";
import { gemmInArena, KC, MC, MR, NC, NR, packBOffset, packScratch, roundUp } from "./wasm-gemm";
import { decodeBase64 } from "./wasm-module";

/*
 * Multi-threaded WASM matmul (Node only): the kernels module built for a shared memory runs in
 * `threads − 1` worker threads plus the calling thread, each computing a band of C's rows with its own
 * packing buffers. The call stays synchronous: the caller waits with Atomics.wait, which Node allows on
 * the main thread (browsers do not, so there threads stay at 1). Opt-in through `setThreads`.
 */

/** Below this many multiply-adds a matmul stays single-threaded (worker hand-off costs ~20 µs). */
const THREAD_MIN_WORK = 96 * 96 * 96;
/** Control words per worker: [state, 13 GEMM parameters]; state 0 idle, 1 job, 2 done, 3 exit. */
const CTRL_WORDS = 16;
const IDLE = 0;
const JOB = 1;
const DONE = 2;
const EXIT = 3;

interface WorkerLike {
  unref(): void;
  terminate(): unknown;
}

interface WorkerThreads {
  Worker: new (src: string, opts: { eval: true; workerData: unknown }) => WorkerLike;
}

/** Source of each worker: instantiate the shared module, then serve GEMM bands forever. */
const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const { module, memory, ctrlByte, MR, NR, MC, KC, NC } = workerData;
const k = new WebAssembly.Instance(module, { env: { memory } }).exports;
const ru = (x, t) => Math.ceil(x / t) * t;
const ctrl = new Int32Array(memory.buffer, ctrlByte, ${CTRL_WORDS});
for (;;) {
  Atomics.wait(ctrl, 0, ${IDLE});
  const state = Atomics.load(ctrl, 0);
  if (state === ${EXIT}) break;
  if (state !== ${JOB}) continue;
  const [aOff, aRs, aCs, bOff, bRs, bCs, m, n, kk, c, ldc, packA, packB] = ctrl.subarray(1, 14);
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    for (let pc = 0; pc < kk; pc += KC) {
      const kc = Math.min(KC, kk - pc);
      k.pack_b(4 * (bOff + pc * bRs + jc * bCs), bRs, bCs, kc, nc, 4 * packB);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        k.pack_a(4 * (aOff + ic * aRs + pc * aCs), aRs, aCs, mc, kc, 4 * packA);
        k.gebp(4 * packA, 4 * packB, 4 * (c + ic * ldc + jc), ru(mc, MR), ru(nc, NR), kc, 4 * ldc, pc > 0 ? 1 : 0);
      }
    }
  }
  Atomics.store(ctrl, 0, ${DONE});
  Atomics.notify(ctrl, 0);
}
`;

interface Pool {
  arena: WasmArena;
  workers: WorkerLike[];
  ctrl: Int32Array;
}

/** The thread setting and the pool (the registry's threading state). */
const threading: { requested: number; pool: Pool | undefined } = { requested: 1, pool: undefined };

function workerThreads(): WorkerThreads | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  if (typeof proc?.getBuiltinModule !== "function" || typeof SharedArrayBuffer !== "function")
    return undefined;
  return proc.getBuiltinModule("node:worker_threads") as WorkerThreads | undefined;
}

function closePool(): void {
  const pool = threading.pool;
  if (!pool) return;
  for (let w = 0; w < pool.workers.length; w++) {
    Atomics.store(pool.ctrl, w * CTRL_WORDS, EXIT);
    Atomics.notify(pool.ctrl, w * CTRL_WORDS);
    pool.workers[w]!.terminate();
  }
  threading.pool = undefined;
}

/**
 * Sets how many threads large float32 matmuls on the WASM backend use (default 1). Returns the count
 * that will actually be used: 1 where threads are unavailable (browsers: the call is synchronous and
 * Atomics.wait is not allowed on their main thread; runtimes without SharedArrayBuffer).
 */
export function setThreads(n: number): number {
  if (!Number.isInteger(n) || n < 1)
    throw new KernelsError("setThreads", `thread count must be an integer ≥ 1, got ${n}`);
  const effective = n > 1 && workerThreads() && wasmApi() ? n : 1;
  if (effective !== threading.requested) closePool();
  threading.requested = effective;
  return effective;
}

/** The thread count set by {@link setThreads}. */
export function getThreads(): number {
  return threading.requested;
}

function createPool(threads: number): Pool | undefined {
  const wt = workerThreads();
  const api = wasmApi();
  if (!wt || !api) return undefined;
  const module: WasmModule = new api.Module(decodeBase64(kernelsSharedWasmBase64));
  const memory = new api.Memory({ initial: 16, maximum: SHARED_MAX_PAGES, shared: true });
  const workersCount = threads - 1;
  const arena = new WasmArena(module, memory, workersCount * CTRL_WORDS);
  const ctrl = new Int32Array(memory.buffer, 0, workersCount * CTRL_WORDS);
  const workers: WorkerLike[] = [];
  for (let w = 0; w < workersCount; w++) {
    const worker = new wt.Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { module, memory, ctrlByte: 4 * w * CTRL_WORDS, MR, NR, MC, KC, NC },
    });
    worker.unref();
    workers.push(worker);
  }
  return { arena, workers, ctrl };
}

/**
 * Runs `out = op(a)·op(b)` over all threads when threading is on and the product is large enough;
 * returns false (doing nothing) otherwise so the caller uses the single-threaded path.
 */
export function threadedMatmul(
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  out: Float32Array,
): boolean {
  const threads = threading.requested;
  if (threads < 2 || m * n * k < THREAD_MIN_WORK || m < 2 * MR) return false;
  threading.pool ??= createPool(threads);
  const pool = threading.pool;
  if (!pool) return false;
  const bands = Math.min(threads, Math.floor(m / MR));
  const band = roundUp(Math.ceil(m / bands), MR);
  const ldc = roundUp(n, NR);
  const scratch = packScratch(band, n, k) + 8;
  const { arena, ctrl } = pool;
  arena.begin(((m * k + 3) & ~3) + ((k * n + 3) & ~3) + roundUp(m, MR) * ldc + bands * scratch + 16);
  const ao = arena.alloc(m * k);
  const bo = arena.alloc(k * n);
  const co = arena.alloc(roundUp(m, MR) * ldc);
  const packs = arena.alloc(bands * scratch);
  const f = arena.f32;
  f.set(a.subarray(0, m * k), ao);
  f.set(b.subarray(0, k * n), bo);
  const aOp = transA ? { rs: 1, cs: m } : { rs: k, cs: 1 };
  const bOp = transB ? { rs: 1, cs: k } : { rs: n, cs: 1 };
  // Bands 1.. go to the workers, band 0 runs here.
  for (let t = 1; t < bands; t++) {
    const r0 = t * band;
    const rows = Math.min(band, m - r0);
    const pa = packs + t * scratch;
    const base = (t - 1) * CTRL_WORDS;
    const params = [
      ao + r0 * aOp.rs,
      aOp.rs,
      aOp.cs,
      bo,
      bOp.rs,
      bOp.cs,
      rows,
      n,
      k,
      co + r0 * ldc,
      ldc,
      pa,
      packBOffset(pa, rows, k),
    ];
    ctrl.set(params, base + 1);
    Atomics.store(ctrl, base, JOB);
    Atomics.notify(ctrl, base);
  }
  const rows0 = Math.min(band, m);
  gemmInArena(
    arena,
    { off: ao, ...aOp },
    { off: bo, ...bOp },
    rows0,
    n,
    k,
    co,
    ldc,
    packs,
    packBOffset(packs, rows0, k),
  );
  for (let t = 1; t < bands; t++) {
    const base = (t - 1) * CTRL_WORDS;
    let waited = 0;
    while (Atomics.load(ctrl, base) !== DONE) {
      if (Atomics.wait(ctrl, base, JOB, 1000) === "timed-out" && ++waited >= 60) {
        closePool();
        throw new KernelsError("matmul", "a worker thread did not answer within 60 s");
      }
    }
    Atomics.store(ctrl, base, IDLE);
  }
  const fv = arena.f32;
  if (ldc === n) out.set(fv.subarray(co, co + m * n));
  else for (let i = 0; i < m; i++) out.set(fv.subarray(co + i * ldc, co + i * ldc + n), i * n);
  return true;
}
