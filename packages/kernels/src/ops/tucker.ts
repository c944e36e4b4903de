import { KernelsError } from "../errors";
import { allocLike, type FloatArray, permute, type Tensor } from "../tensor";
import { expectRank } from "./check";
import { gemm } from "./gemm";

interface TuckerDims {
  r1: number;
  r2: number;
  p: number;
  q: number;
  kernel: number[];
  kn: number;
}

function tuckerDims(
  op: string,
  core: Tensor<FloatArray>,
  a: Tensor<FloatArray>,
  b: Tensor<FloatArray>,
): TuckerDims {
  const [r1, p] = expectRank(op, "a", a, 2) as [number, number];
  const [r2, q] = expectRank(op, "b", b, 2) as [number, number];
  if (core.shape.length < 2 || core.shape[0] !== r1 || core.shape[1] !== r2) {
    throw new KernelsError(
      op,
      `core must be [${r1}, ${r2}, ...kernel] to match a and b, got [${core.shape}]`,
    );
  }
  const kernel = core.shape.slice(2);
  const kn = kernel.reduce((acc, d) => acc * d, 1);
  return { r1, r2, p, q, kernel, kn };
}

/** `T1[i, q·K] = bᵀ·core[i]` for every i (the first contraction of the rebuild). */
function firstContraction(core: FloatArray, b: FloatArray, d: TuckerDims): FloatArray {
  const { r1, r2, q, kn } = d;
  const t1 = allocLike(core, r1 * q * kn);
  for (let i = 0; i < r1; i++) {
    gemm(
      b,
      core.subarray(i * r2 * kn, (i + 1) * r2 * kn),
      q,
      kn,
      r2,
      true,
      false,
      t1.subarray(i * q * kn, (i + 1) * q * kn),
    );
  }
  return t1;
}

/**
 * Tucker/CP rebuild `einsum("i j ..., i p, j r -> p r ...", core, a, b)`: core [r1,r2,...kernel],
 * a [r1,p], b [r2,q] → [p,q,...kernel] (LoKr `lokr_t2` with `w2_a`, `w2_b`; LoHa `hada_t*`).
 */
export function tuckerRebuild<A extends FloatArray>(core: Tensor<A>, a: Tensor<A>, b: Tensor<A>): Tensor<A> {
  const d = tuckerDims("tuckerRebuild", core, a, b);
  const t1 = firstContraction(core.data, b.data, d);
  const out = allocLike(core.data, d.p * d.q * d.kn);
  gemm(a.data, t1, d.p, d.q * d.kn, d.r1, true, false, out);
  return { data: out, shape: [d.p, d.q, ...d.kernel] };
}

/** Gradients of {@link tuckerRebuild}. */
export interface TuckerGrads<A extends FloatArray> {
  readonly dCore: Tensor<A>;
  readonly da: Tensor<A>;
  readonly db: Tensor<A>;
}

/**
 * Gradients of {@link tuckerRebuild} given `dOut` [p,q,...kernel]: with `T1[i] = bᵀ·core[i]` and
 * `G[i] = Σ_p a[i,p]·dOut[p]`: `da = T1·dOutᵀ`, `dCore[i] = b·G[i]`, `db = Σᵢ core[i]·G[i]ᵀ`.
 */
export function tuckerRebuildBackward<A extends FloatArray>(
  core: Tensor<A>,
  a: Tensor<A>,
  b: Tensor<A>,
  dOut: Tensor<A>,
): TuckerGrads<A> {
  const d = tuckerDims("tuckerRebuildBackward", core, a, b);
  const { r1, r2, p, q, kn } = d;
  if (dOut.data.length !== p * q * kn) {
    throw new KernelsError(
      "tuckerRebuildBackward",
      `dOut must be [${[p, q, ...d.kernel]}], got [${dOut.shape}]`,
    );
  }
  const like = core.data;
  const t1 = firstContraction(core.data, b.data, d);
  const da = allocLike(like, r1 * p);
  gemm(t1, dOut.data, r1, p, q * kn, false, true, da);
  const g = allocLike(like, r1 * q * kn);
  gemm(a.data, dOut.data, r1, q * kn, p, false, false, g);
  const dCore = allocLike(like, r1 * r2 * kn);
  for (let i = 0; i < r1; i++) {
    gemm(
      b.data,
      g.subarray(i * q * kn, (i + 1) * q * kn),
      r2,
      kn,
      q,
      false,
      false,
      dCore.subarray(i * r2 * kn, (i + 1) * r2 * kn),
    );
  }
  // db[j,q] = Σ_{i,κ} core[i,j,κ]·G[i,q,κ]: permute both to put (i,κ) innermost, then one GEMM.
  const coreP = permute({ data: core.data, shape: [r1, r2, kn] }, [1, 0, 2]);
  const gP = permute({ data: g, shape: [r1, q, kn] }, [1, 0, 2]);
  const db = allocLike(like, r2 * q);
  gemm(coreP.data, gP.data, r2, q, r1 * kn, false, true, db);
  return {
    dCore: { data: dCore, shape: [...core.shape] },
    da: { data: da, shape: [r1, p] },
    db: { data: db, shape: [r2, q] },
  };
}
