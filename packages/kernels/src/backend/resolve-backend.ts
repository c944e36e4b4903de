import { KernelsError } from "../errors";
import type { BackendName, ConcreteBackendName, F32Kernels, HotOp } from "./f32-kernels";
import { getGpuJsBackend, gpuJsPreferred, requireGpuJsBackend } from "./gpujs-backend";
import { createJsBackend } from "./js-backend";
import { createMlMatrixBackend } from "./ml-matrix-backend";
import { getWasmBackend } from "./wasm-backend";

const NAMES: readonly BackendName[] = ["auto", "wasm", "js", "ml-matrix", "gpu.js"];

/** The backend registry: the user's choice and the backends created so far (lazily). */
const registry: {
  choice: BackendName | undefined;
  js: F32Kernels | undefined;
  mlMatrix: F32Kernels | undefined;
} = { choice: undefined, js: undefined, mlMatrix: undefined };

function isBackendName(name: string): name is BackendName {
  return (NAMES as readonly string[]).includes(name);
}

/** `LYCORIS_BACKEND`, read at first use and then kept (reading `process.env` costs a getter call per op). */
let envChoice: BackendName | null | undefined;

function envBackend(): BackendName | undefined {
  if (envChoice !== undefined) return envChoice ?? undefined;
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const value = env?.LYCORIS_BACKEND;
  if (value === undefined || value === "") {
    envChoice = null;
    return undefined;
  }
  if (!isBackendName(value)) {
    throw new KernelsError(
      "LYCORIS_BACKEND",
      `unknown backend "${value}"; expected one of ${NAMES.join(", ")}`,
    );
  }
  envChoice = value;
  return value;
}

function jsBackend(): F32Kernels {
  registry.js ??= createJsBackend();
  return registry.js;
}

function mlMatrixBackend(): F32Kernels {
  registry.mlMatrix ??= createMlMatrixBackend();
  return registry.mlMatrix;
}

/**
 * Returns the named concrete backend, or throws when it is unavailable in this runtime; `op` names who
 * asked (`setBackend`, or `LYCORIS_BACKEND`).
 */
export function concreteBackend(name: ConcreteBackendName, op = "setBackend"): F32Kernels {
  switch (name) {
    case "js":
      return jsBackend();
    case "ml-matrix":
      return mlMatrixBackend();
    case "wasm": {
      const b = getWasmBackend();
      if (!b) throw new KernelsError(op, "WebAssembly SIMD is not available in this runtime");
      return b;
    }
    case "gpu.js":
      return getGpuJsBackend() ?? requireGpuJsBackend(op);
  }
}

/**
 * Selects the backend for all float32 ops. `auto` (the default) picks per op and size; a concrete name
 * forces that backend and throws if it is unavailable. Overrides the `LYCORIS_BACKEND` env variable.
 */
export function setBackend(name: BackendName): void {
  if (!isBackendName(name)) {
    throw new KernelsError(
      "setBackend",
      `unknown backend "${String(name)}"; expected one of ${NAMES.join(", ")}`,
    );
  }
  if (name !== "auto") concreteBackend(name);
  registry.choice = name;
}

/** The current choice: `setBackend`'s, else env `LYCORIS_BACKEND`, else `"auto"`. */
export function getBackend(): BackendName {
  return registry.choice ?? envBackend() ?? "auto";
}

/*
 * Crossover points for `auto` (work = multiply-adds, or elements of W for kronMerge), set from
 * `packages/kernels/bench/small-sizes.bench.mjs` (`pnpm bench`; table in docs/benchmarks.md) on a 2-core
 * Xeon, Node 20: below them the fixed cost of a WASM call (copying operands into WASM memory, packing)
 * outweighs the SIMD speed-up and the plain JS loops win. Measured (µs, JS vs WASM): matmul 8³ (512 MACs)
 * 4 vs 5, 16³ (4096) 11 vs 5, 32³ 55 vs 11; kronApply 1×64 with 8×8 factors (work 1024) 9 vs 11, 1×256
 * with 16×16 (8192) 45 vs 10; kronMerge W 16² (256) 3 vs 4, W 64² (4096) 25 vs 8; LoHa 16² r=4+4
 * (2048) 16 vs 5.
 * Above the crossovers WASM wins every measured size (about 10× over the blocked JS matmul at 1024), and ml-matrix and
 * gpu.js (WebAssembly/software WebGL modes) are slower than plain JS, so `auto` never picks them.
 */
const WASM_MIN_WORK: Record<HotOp, number> = {
  matmul: 2048,
  kronApply: 2048,
  kronMerge: 1024,
  lowRankHadamard: 1024,
};

/**
 * The backend that runs a float32 hot op of the given size (multiply-adds). `auto` never picks
 * ml-matrix (slowest everywhere in the benchmark) nor gpu.js unless a hardware adapter won calibration.
 */
export function backendFor(op: HotOp, work: number): F32Kernels {
  const choice = getBackend();
  if (choice !== "auto")
    return concreteBackend(choice, registry.choice === undefined ? "LYCORIS_BACKEND" : "setBackend");
  if (gpuJsPreferred() && op === "matmul" && work >= 1 << 27) {
    const g = getGpuJsBackend();
    if (g) return g;
  }
  if (work >= WASM_MIN_WORK[op]) {
    const w = getWasmBackend();
    if (w) return w;
  }
  return jsBackend();
}
