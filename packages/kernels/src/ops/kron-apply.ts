import { backendFor } from "../backend/resolve-backend";
import { KernelsError } from "../errors";
import { allocLike, type FloatArray, formatShape, permute, type Tensor } from "../tensor";
import { allF32, expectRank } from "./check";
import { gemm } from "./gemm";

interface KronDims {
  rows: number;
  p: number;
  q: number;
  r: number;
  s: number;
  lead: number[];
}

function kronDims(op: string, x: Tensor<FloatArray>, a: Tensor<FloatArray>, b: Tensor<FloatArray>): KronDims {
  const [p, q] = expectRank(op, "a", a, 2) as [number, number];
  const [r, s] = expectRank(op, "b", b, 2) as [number, number];
  if (x.shape.length < 1 || x.shape[x.shape.length - 1] !== q * s) {
    throw new KernelsError(
      op,
      `x must end in q·s = ${q}·${s} = ${q * s} features, got shape ${formatShape(x.shape)}`,
    );
  }
  const lead = x.shape.slice(0, -1);
  const rows = lead.reduce((acc, d) => acc * d, 1);
  return { rows, p, q, r, s, lead };
}

/** Scales a copy of `a` by `s` (folds the LoKr scale into the small factor). */
function scaled(a: FloatArray, s: number): FloatArray {
  if (s === 1) return a;
  const out = allocLike(a, a.length);
  for (let i = 0; i < a.length; i++) out[i] = s * a[i]!;
  return out;
}

/** Composite kronApply on gemm: T = X·bᵀ as [N·q, r]; Y[n] = a·T[n]. */
function kronApplyComposite(
  x: FloatArray,
  d: KronDims,
  a: FloatArray,
  b: FloatArray,
  scale: number,
  out: FloatArray,
): void {
  const { rows, p, q, r, s } = d;
  const t = allocLike(out, rows * q * r);
  gemm(x, b, rows * q, r, s, false, true, t);
  const as = scaled(a, scale);
  for (let n = 0; n < rows; n++) {
    gemm(
      as,
      t.subarray(n * q * r, (n + 1) * q * r),
      p,
      r,
      q,
      false,
      false,
      out.subarray(n * p * r, (n + 1) * p * r),
    );
  }
}

/**
 * Structured Kronecker apply `y = s · x·(a⊗b)ᵀ` without materialising `a⊗b`. x is [..., q·s],
 * a [p,q], b [r,s]; y is [..., p·r]. Row-major identity: each row of x viewed as Xr [q,s] gives the
 * output row `a·Xr·bᵀ` ([p,r]) flattened.
 */
export function kronApply<A extends FloatArray>(x: Tensor<A>, a: Tensor<A>, b: Tensor<A>, s = 1): Tensor<A> {
  const d = kronDims("kronApply", x, a, b);
  const out = allocLike(x.data, d.rows * d.p * d.r);
  if (allF32(x.data, a.data, b.data)) {
    const be = backendFor("kronApply", d.rows * (d.q * d.s * d.r + d.p * d.q * d.r));
    if (be.kronApply) {
      be.kronApply(
        x.data as Float32Array,
        d.rows,
        a.data as Float32Array,
        d.p,
        d.q,
        b.data as Float32Array,
        d.r,
        d.s,
        s,
        out as Float32Array,
      );
      return { data: out, shape: [...d.lead, d.p * d.r] };
    }
  }
  kronApplyComposite(x.data, d, a.data, b.data, s, out);
  return { data: out, shape: [...d.lead, d.p * d.r] };
}

/** Gradients of {@link kronApply}. */
export interface KronApplyGrads<A extends FloatArray> {
  readonly dx: Tensor<A>;
  readonly da: Tensor<A>;
  readonly db: Tensor<A>;
}

/**
 * Gradients of `y = s · x·(a⊗b)ᵀ` given `dy` ([..., p·r]): `dXr = s·aᵀ·dYr·b`,
 * `da = s·Σₙ dYr·(Xr·bᵀ)ᵀ`, `db = s·Σₙ dYrᵀ·(a·Xr)`, all through GEMMs.
 */
export function kronApplyBackward<A extends FloatArray>(
  x: Tensor<A>,
  a: Tensor<A>,
  b: Tensor<A>,
  dy: Tensor<A>,
  s = 1,
): KronApplyGrads<A> {
  const d = kronDims("kronApplyBackward", x, a, b);
  const { rows, p, q, r } = d;
  const sd = d.s;
  if (dy.data.length !== rows * p * r) {
    throw new KernelsError(
      "kronApplyBackward",
      `dy must be ${formatShape([...d.lead, p * r])}, got ${formatShape(dy.shape)}`,
    );
  }
  const like = x.data;
  // dX: U[n] = aᵀ·dY[n] ([q,r]); dX = s·U·b as [N·q, r]·[r, s].
  const u = allocLike(like, rows * q * r);
  for (let n = 0; n < rows; n++) {
    gemm(
      a.data,
      dy.data.subarray(n * p * r, (n + 1) * p * r),
      q,
      r,
      p,
      true,
      false,
      u.subarray(n * q * r, (n + 1) * q * r),
    );
  }
  const dx = allocLike(like, rows * q * sd);
  gemm(u, scaled(b.data, s), rows * q, sd, r, false, false, dx);
  // db = s·(dY as [N·p, r])ᵀ·(V as [N·p, s]) with V[n] = a·X[n].
  const v = allocLike(like, rows * p * sd);
  for (let n = 0; n < rows; n++) {
    gemm(
      a.data,
      x.data.subarray(n * q * sd, (n + 1) * q * sd),
      p,
      sd,
      q,
      false,
      false,
      v.subarray(n * p * sd, (n + 1) * p * sd),
    );
  }
  const db = allocLike(like, r * sd);
  gemm(dy.data, v, r, sd, rows * p, true, false, db);
  // da = s·dYp·Tpᵀ with T[n] = X[n]·bᵀ ([q,r]), dY permuted to [p, N·r] and T to [q, N·r].
  const t = allocLike(like, rows * q * r);
  gemm(x.data, b.data, rows * q, r, sd, false, true, t);
  const dyP = permute({ data: dy.data, shape: [rows, p, r] }, [1, 0, 2]);
  const tP = permute({ data: t, shape: [rows, q, r] }, [1, 0, 2]);
  const da = allocLike(like, p * q);
  gemm(dyP.data, tP.data, p, q, rows * r, false, true, da);
  if (s !== 1) {
    for (let i = 0; i < da.length; i++) da[i] = s * da[i]!;
    for (let i = 0; i < db.length; i++) db[i] = s * db[i]!;
  }
  return {
    dx: { data: dx, shape: [...x.shape] },
    da: { data: da, shape: [p, q] },
    db: { data: db, shape: [r, sd] },
  };
}
