/** The concrete backends (everything `auto` can resolve to). */
export type ConcreteBackendName = "wasm" | "js" | "ml-matrix" | "gpu.js";

/** Backend choice: a concrete backend, or `auto` (per op and size, see `resolve-backend.ts`). */
export type BackendName = "auto" | ConcreteBackendName;

/** The hot ops a backend may accelerate; `auto` decides per op. */
export type HotOp = "matmul" | "kronApply" | "kronMerge" | "lowRankHadamard";

/**
 * Float32 primitives a backend provides. Only `matmul` is required: every other op has a composite
 * form in `ops/` built on it. All arrays are row-major and dense; outputs are overwritten.
 */
export interface F32Kernels {
  readonly name: ConcreteBackendName;
  /** `out[m,n] = op(a)·op(b)`; a is [m,k] or (transA) [k,m]; b is [k,n] or (transB) [n,k]. */
  matmul(
    a: Float32Array,
    b: Float32Array,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    out: Float32Array,
  ): void;
  /** `out[N, p·r] = scale · x[N, q·s]·(a⊗b)ᵀ` with a [p,q], b [r,s]. */
  kronApply?(
    x: Float32Array,
    rows: number,
    a: Float32Array,
    p: number,
    q: number,
    b: Float32Array,
    r: number,
    s: number,
    scale: number,
    out: Float32Array,
  ): void;
  /** In place `w += scale·kron(a, b)`; a [p,q], b [r, sk] (kernel dims flattened innermost). */
  kronMerge?(
    w: Float32Array,
    a: Float32Array,
    p: number,
    q: number,
    b: Float32Array,
    r: number,
    sk: number,
    scale: number,
  ): void;
  /** `out = scale·(a1·b1) ⊙ (a2·b2)` computed row by row. */
  lowRankHadamard?(
    a1: Float32Array,
    b1: Float32Array,
    a2: Float32Array,
    b2: Float32Array,
    rows: number,
    cols: number,
    r1: number,
    r2: number,
    scale: number,
    out: Float32Array,
  ): void;
}
