import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  KernelsError,
  kron,
  kronApply,
  kronApplyBackward,
  kronMergeInto,
  setBackend,
  type Tensor,
} from "../src/index";
import { backendsUnderTest, dot, expectClose, f32, numericGrad, rand64 } from "./helpers";
import { refKron, refLinear } from "./reference";

// Products of two f32 factors are exact-ish (one rounding): 1e-6 relative. Applies sum q·s ≤ 512
// products in f32: 2e-5 relative to max(1, max|y|).
const KRON_TOL = 1e-6;
const APPLY_TOL = 2e-5;

describe.each(backendsUnderTest())("Kronecker ops on backend %s", (backend) => {
  beforeAll(() => setBackend(backend));
  afterAll(() => setBackend("auto"));

  it.each([
    [
      [3, 4],
      [5, 6],
    ],
    [
      [2, 3],
      [4, 5, 3, 3],
    ],
    [
      [4, 2],
      [3, 2, 3],
    ],
    [
      [1, 1],
      [7, 9],
    ],
  ])("kron(%j, %j) matches the index definition", (sa, sb) => {
    const a = rand64(sa, 1);
    const b = rand64(sb, 2);
    expectClose(kron(f32(a), f32(b)), refKron(a, b), KRON_TOL);
    expectClose(kron(a, b), refKron(a, b), 1e-15);
  });

  it.each([
    [[3, 4], [5, 6], 2.5],
    [[2, 3], [4, 5, 3, 3], -0.75],
    [[16, 16], [32, 24], 1],
  ])("kronMergeInto(w, %j, %j, s=%d) adds s·kron in place; -s undoes it", (sa, sb, s) => {
    const a = rand64(sa, 3);
    const b = rand64(sb, 4);
    const k = refKron(a, b);
    const w0 = rand64(k.shape, 5);
    const w = f32(w0);
    kronMergeInto(w, f32(a), f32(b), s);
    const expected = { data: w0.data.map((v, i) => v + s * k.data[i]!), shape: k.shape };
    expectClose(w, expected, KRON_TOL * 4);
    kronMergeInto(w, f32(a), f32(b), -s);
    expectClose(w, w0, KRON_TOL * 8);
    expect(() => kronMergeInto(f32(rand64([2, 2], 1)), f32(a), f32(b), 1)).toThrow(KernelsError);
  });

  it.each([
    [1, [4, 8], [6, 16]],
    [8, [8, 8], [8, 8]],
    [5, [3, 7], [9, 11]],
    [33, [16, 16], [32, 32]],
    [3, [130, 2], [5, 3]], // p above one WASM A block (120 rows): the general per-row GEMM path
  ])("kronApply with N=%d, a %j, b %j equals x·(s·kron(a,b))ᵀ", (n, sa, sb) => {
    const a = rand64(sa, 6);
    const b = rand64(sb, 7);
    const x = rand64([n, sa[1]! * sb[1]!], 8);
    const s = 0.5;
    const w = refKron(a, b);
    const ref = refLinear(x, { data: w.data.map((v) => s * v), shape: w.shape });
    expectClose(kronApply(f32(x), f32(a), f32(b), s), ref, APPLY_TOL);
    expectClose(kronApply(x, a, b, s), ref, 1e-12);
  });

  it("kronApply keeps leading batch dims and rejects a wrong feature size", () => {
    const a = f32(rand64([2, 3], 1));
    const b = f32(rand64([4, 5], 2));
    expect(kronApply(f32(rand64([2, 3, 15], 3)), a, b).shape).toEqual([2, 3, 8]);
    expect(() => kronApply(f32(rand64([2, 14], 3)), a, b)).toThrow(KernelsError);
  });

  it("kronApplyBackward in float32 matches the float64 gradients (2e-5 relative)", () => {
    const a = rand64([8, 6], 1);
    const b = rand64([5, 7], 2);
    const x = rand64([9, 42], 3);
    const dy = rand64([9, 40], 4);
    const g64 = kronApplyBackward(x, a, b, dy, 1.5);
    const g32 = kronApplyBackward(f32(x), f32(a), f32(b), f32(dy), 1.5);
    expectClose(g32.dx, g64.dx, APPLY_TOL);
    expectClose(g32.da, g64.da, APPLY_TOL);
    expectClose(g32.db, g64.db, APPLY_TOL);
  });
});

describe("kronApplyBackward gradient check (float64 finite differences)", () => {
  it("dx, da, db match central differences (1e-7: the loss is bilinear, h = 1e-3)", () => {
    const a = rand64([3, 4], 11);
    const b = rand64([2, 5], 12);
    const x = rand64([4, 20], 13);
    const dy = rand64([4, 6], 14);
    const s = 0.7;
    const loss = () => dot(dy.data, kronApply(x, a, b, s).data);
    const g = kronApplyBackward(x, a, b, dy, s);
    const close = (t: Tensor<Float64Array>, num: Float64Array) =>
      expectClose(t, { data: num, shape: t.shape }, 1e-7);
    close(g.dx, numericGrad(x, loss));
    close(g.da, numericGrad(a, loss));
    close(g.db, numericGrad(b, loss));
  });
});
