import { describe, expect, it } from "vitest";
import {
  denseSvd,
  KernelsError,
  kronSvd,
  type LazySvd,
  matmul,
  productSvd,
  qr,
  type Tensor,
  topProducts,
} from "../src/index";
import { rand64 } from "./helpers";
import { refKron, refSvd } from "./reference";

type T64 = Tensor<Float64Array>;

// Everything here is float64 from backward-stable algorithms (Householder QR, ml-matrix's Golub–Kahan SVD, the
// test's Jacobi SVD) on matrices of size ≤ 120: errors are a few hundred ulps of the largest singular value, so
// 1e-10 · σ₀ is loose enough for every path and still fails on any real mistake (a wrong vector is O(σ₀) off).
// Truncations B·A are compared only at well-separated gaps (singular vectors are conditioned by 1/gap).
const TOL = 1e-10;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= worst)) worst = d;
  }
  return worst;
}

function orthonormalityError(q: T64): number {
  const k = q.shape[1]!;
  const qtq = matmul(q, q, { transA: true });
  let worst = 0;
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) worst = Math.max(worst, Math.abs(qtq.data[i * k + j]! - (i === j ? 1 : 0)));
  return worst;
}

/** U_k·diag(s_k)·V_kᵀ. */
function truncation(u: T64, s: ArrayLike<number>, v: T64, k: number): T64 {
  const [rows, cols] = [u.shape[0]!, v.shape[0]!];
  const out = new Float64Array(rows * cols);
  const pu = u.shape[1]!;
  const pv = v.shape[1]!;
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      let acc = 0;
      for (let t = 0; t < k; t++) acc += u.data[i * pu + t]! * s[t]! * v.data[j * pv + t]!;
      out[i * cols + j] = acc;
    }
  return { data: out, shape: [rows, cols] };
}

/** Checks a LazySvd of `a` against the reference Jacobi SVD at rank k (k at a well-separated gap). */
function expectSvdOf(lazy: LazySvd, a: T64, k: number): void {
  const ref = refSvd(a);
  const p = Math.min(a.shape[0]!, a.shape[1]!);
  expect([lazy.rows, lazy.cols]).toEqual([a.shape[0], a.shape[1]]);
  expect(lazy.singularValues.length).toBe(p);
  const s0 = ref.s[0]!;
  expect(maxAbsDiff(lazy.singularValues, ref.s)).toBeLessThanOrEqual(TOL * s0);
  const lead = lazy.leading(k);
  expect(lead.u.shape).toEqual([a.shape[0], k]);
  expect(lead.v.shape).toEqual([a.shape[1], k]);
  expect(orthonormalityError(lead.u)).toBeLessThanOrEqual(TOL);
  expect(orthonormalityError(lead.v)).toBeLessThanOrEqual(TOL);
  // A·vₜ = sₜ·uₜ for every triplet (the definition, no reference needed).
  const av = matmul(a, lead.v);
  for (let i = 0; i < a.shape[0]!; i++)
    for (let t = 0; t < k; t++)
      expect(Math.abs(av.data[i * k + t]! - lead.s[t]! * lead.u.data[i * k + t]!)).toBeLessThanOrEqual(
        TOL * s0,
      );
  expect(
    maxAbsDiff(truncation(lead.u, lead.s, lead.v, k).data, truncation(ref.u, ref.s, ref.v, k).data),
  ).toBeLessThanOrEqual(TOL * s0);
}

describe("topProducts", () => {
  it("gives the k largest products in descending order, equal to a brute-force sort, ties included", () => {
    const a = [3, 2, 2, 1, 0];
    const b = [2, 1, 1, 0.5];
    const brute = a.flatMap((x) => b.map((y) => x * y)).sort((x, y) => y - x);
    for (let k = 0; k <= brute.length; k++) {
      const top = topProducts(a, b, k);
      expect([...top.values]).toEqual(brute.slice(0, k));
      for (let t = 0; t < k; t++) expect(a[top.i[t]!]! * b[top.j[t]!]!).toBe(top.values[t]);
      // Each pair at most once.
      expect(new Set([...top.i].map((i, t) => `${i},${top.j[t]}`)).size).toBe(k);
    }
  });

  it("rejects unsorted or negative lists and k out of range with KernelsError", () => {
    expect(() => topProducts([1, 2], [1], 1)).toThrow(KernelsError);
    expect(() => topProducts([1, -1], [1], 1)).toThrow(KernelsError);
    expect(() => topProducts([2, 1], [1], 3)).toThrow(KernelsError);
    expect(() => topProducts([2, 1], [1], 1.5)).toThrow(KernelsError);
  });
});

describe("qr (Householder)", () => {
  it("factorises a rank-deficient matrix: Q orthonormal, Q·R = A", () => {
    const a = rand64([9, 4], 11);
    // Column 2 = column 0, column 3 = 0.
    for (let i = 0; i < 9; i++) {
      a.data[i * 4 + 2] = a.data[i * 4]!;
      a.data[i * 4 + 3] = 0;
    }
    const { q, r } = qr(a);
    expect(maxAbsDiff(matmul(q, r).data, a.data)).toBeLessThanOrEqual(TOL);
    expect(orthonormalityError(q)).toBeLessThanOrEqual(TOL);
  });
});

describe("denseSvd / productSvd / kronSvd against a Jacobi SVD of the materialised matrix", () => {
  it("denseSvd of a random matrix, and leading(k) for every k", () => {
    const a = rand64([12, 7], 1);
    for (const k of [0, 1, 3, 7]) expectSvdOf(denseSvd(a), a, k);
  });

  it.each([
    ["tall, p < min", 40, 5, 30],
    ["wide, p < min", 20, 3, 50],
    ["p = 1", 15, 1, 9],
    ["p ≥ min(m, n): dense fallback", 6, 8, 20],
  ])("productSvd %s (a [%d, %d] · b [·, %d])", (_name, m, p, n) => {
    const a = rand64([m, p], m + p);
    const b = rand64([p, n], n * 3);
    const lazy = productSvd(a, b);
    const full = matmul(a, b);
    expectSvdOf(lazy, full, Math.min(p, m, n));
    expectSvdOf(lazy, full, 1);
    // Beyond the structural rank: zero singular values, vectors completed orthonormally.
    const all = lazy.leading(Math.min(m, n));
    expect(orthonormalityError(all.u)).toBeLessThanOrEqual(TOL);
    expect(orthonormalityError(all.v)).toBeLessThanOrEqual(TOL);
    for (let t = p; t < Math.min(m, n); t++) expect(all.s[t]).toBe(0);
  });

  it("productSvd of a rank-deficient product (a repeated column, a zero row of b)", () => {
    const a = rand64([30, 4], 5);
    for (let i = 0; i < 30; i++) a.data[i * 4 + 3] = a.data[i * 4]!;
    const b = rand64([4, 25], 6);
    for (let j = 0; j < 25; j++) b.data[2 * 25 + j] = 0;
    const lazy = productSvd(a, b);
    // True rank 2 (column 3 duplicates column 0, row 2 of b is zero): rank-2 truncation is exact.
    expectSvdOf(lazy, matmul(a, b), 2);
    const four = lazy.leading(4);
    expect(orthonormalityError(four.u)).toBeLessThanOrEqual(TOL);
    expect(four.s[2]!).toBeLessThanOrEqual(TOL * four.s[0]!);
  });

  it("productSvd of a zero product: all singular values 0, orthonormal vectors", () => {
    const lazy = productSvd(rand64([10, 2], 1), { data: new Float64Array(2 * 12), shape: [2, 12] });
    expect([...lazy.singularValues]).toEqual(new Array(10).fill(0));
    const lead = lazy.leading(3);
    expect(orthonormalityError(lead.u)).toBeLessThanOrEqual(TOL);
    expect(orthonormalityError(lead.v)).toBeLessThanOrEqual(TOL);
  });

  it("kronSvd of scale·(w1 ⊗ (a·b)) with a negative scale, full and low-rank factors", () => {
    const w1 = rand64([4, 3], 21);
    const a = rand64([5, 2], 22);
    const b = rand64([2, 6], 23);
    const w2 = matmul(a, b);
    const scale = -0.75;
    const lazy = kronSvd(denseSvd(w1), productSvd(a, b), scale);
    const full = refKron(w1, w2);
    for (let i = 0; i < full.data.length; i++) full.data[i] = full.data[i]! * scale;
    // 3·2 = 6 non-zero products of 18 singular values; k = 1, 4 and 6 sit at well-separated gaps (seeded data).
    for (const k of [1, 4, 6]) expectSvdOf(lazy, full, k);
    const all = lazy.leading(lazy.singularValues.length);
    expect(orthonormalityError(all.u)).toBeLessThanOrEqual(TOL);
    expect(orthonormalityError(all.v)).toBeLessThanOrEqual(TOL);
  });

  it("leading(k) rejects k outside [0, min(rows, cols)]; productSvd rejects mismatched factors", () => {
    const lazy = denseSvd(rand64([3, 5], 1));
    expect(() => lazy.leading(4)).toThrow(KernelsError);
    expect(() => lazy.leading(-1)).toThrow(KernelsError);
    expect(() => lazy.leading(1.5)).toThrow(KernelsError);
    expect(() => productSvd(rand64([3, 2], 1), rand64([3, 2], 2))).toThrow(KernelsError);
  });
});
