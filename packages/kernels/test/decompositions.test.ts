import { describe, expect, it } from "vitest";
import { KernelsError, matmul, qr, svd, type Tensor } from "../src/index";
import { rand64 } from "./helpers";

// float64 decompositions of well-conditioned random matrices: reconstruction and orthonormality to 1e-10.
const TOL = 1e-10;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

function identityError(q: Tensor<Float64Array>): number {
  const qtq = matmul(q, q, { transA: true });
  const p = q.shape[1]!;
  let worst = 0;
  for (let i = 0; i < p; i++)
    for (let j = 0; j < p; j++) worst = Math.max(worst, Math.abs(qtq.data[i * p + j]! - (i === j ? 1 : 0)));
  return worst;
}

describe("svd and qr (ml-matrix, float64)", () => {
  it.each([
    [7, 4],
    [4, 9],
    [6, 6],
  ])("svd of %dx%d reconstructs A with orthonormal U, V and sorted singular values", (m, n) => {
    const a = rand64([m, n], m * 10 + n);
    const { u, s, v } = svd(a);
    const p = Math.min(m, n);
    expect(u.shape).toEqual([m, p]);
    expect(v.shape).toEqual([n, p]);
    for (let i = 1; i < p; i++) expect(s[i]!).toBeLessThanOrEqual(s[i - 1]!);
    const us = { data: Float64Array.from(u.data, (x, i) => x * s[i % p]!), shape: u.shape };
    expect(maxAbsDiff(matmul(us, v, { transB: true }).data, a.data)).toBeLessThan(TOL);
    expect(identityError(u)).toBeLessThan(TOL);
    expect(identityError(v)).toBeLessThan(TOL);
  });

  it("svd of a rank-1 outer product has one non-zero singular value", () => {
    const col = rand64([5, 1], 1);
    const row = rand64([1, 4], 2);
    const { s } = svd(matmul(col, row));
    expect(s[0]!).toBeGreaterThan(1e-3);
    for (let i = 1; i < s.length; i++) expect(s[i]!).toBeLessThan(1e-12);
  });

  it("qr reconstructs A with orthonormal Q and upper-triangular R; rejects wide matrices", () => {
    const a = rand64([8, 5], 3);
    const { q, r } = qr(a);
    expect(maxAbsDiff(matmul(q, r).data, a.data)).toBeLessThan(TOL);
    expect(identityError(q)).toBeLessThan(TOL);
    for (let i = 0; i < 5; i++)
      for (let j = 0; j < i; j++) expect(Math.abs(r.data[i * 5 + j]!)).toBeLessThan(TOL);
    expect(() => qr(rand64([3, 5], 4))).toThrow(KernelsError);
  });
});
