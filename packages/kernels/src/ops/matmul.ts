import { KernelsError } from "../errors";
import { type FloatArray, outputLike, type Tensor } from "../tensor";
import { gemm } from "./gemm";

/** Options of {@link matmul}. */
export interface MatmulOptions {
  /** Use the transpose of `a` (a is stored [.., k, m]). */
  readonly transA?: boolean;
  /** Use the transpose of `b` (b is stored [.., n, k]). */
  readonly transB?: boolean;
  /** Write the product here instead of a fresh array (see `outputLike`; not overlapping a or b). */
  readonly out?: FloatArray | undefined;
}

/**
 * Matrix product `op(a)·op(b)`. 2-D `[m,k]·[k,n] → [m,n]`, or batched 3-D `[B,m,k]·[B,k,n] → [B,m,n]`;
 * a 2-D operand is broadcast over the batch of a 3-D one. The result uses the array type of `a`.
 */
export function matmul<A extends FloatArray>(
  a: Tensor<A>,
  b: Tensor<A>,
  opts: MatmulOptions = {},
): Tensor<A> {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || ra > 3 || rb < 2 || rb > 3) {
    throw new KernelsError("matmul", `operands must be 2-D or 3-D, got [${a.shape}] and [${b.shape}]`);
  }
  const batchA = ra === 3 ? a.shape[0]! : 1;
  const batchB = rb === 3 ? b.shape[0]! : 1;
  if (ra === 3 && rb === 3 && batchA !== batchB) {
    throw new KernelsError("matmul", `batch sizes differ: [${a.shape}] and [${b.shape}]`);
  }
  const batch = Math.max(batchA, batchB);
  const a0 = a.shape[ra - 2]!;
  const a1 = a.shape[ra - 1]!;
  const b0 = b.shape[rb - 2]!;
  const b1 = b.shape[rb - 1]!;
  const m = transA ? a1 : a0;
  const k = transA ? a0 : a1;
  const kb = transB ? b1 : b0;
  const n = transB ? b0 : b1;
  if (k !== kb) {
    throw new KernelsError(
      "matmul",
      `inner dims differ: op(a) is [${m}, ${k}], op(b) is [${kb}, ${n}] (transA=${transA}, transB=${transB})`,
    );
  }
  const out = outputLike("matmul", a.data, batch * m * n, opts.out);
  const sa = ra === 3 ? m * k : 0;
  const sb = rb === 3 ? k * n : 0;
  for (let i = 0; i < batch; i++) {
    const av = ra === 3 ? a.data.subarray(i * sa, (i + 1) * sa) : a.data;
    const bv = rb === 3 ? b.data.subarray(i * sb, (i + 1) * sb) : b.data;
    gemm(av, bv, m, n, k, transA, transB, out.subarray(i * m * n, (i + 1) * m * n));
  }
  const shape = ra === 3 || rb === 3 ? [batch, m, n] : [m, n];
  return { data: out, shape };
}
