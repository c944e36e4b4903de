import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { matmulMlMatrix64 } from "../src/backend/ml-matrix-backend";
import {
  add,
  addScaledInPlace,
  hadamard,
  KernelsError,
  matmul,
  scale,
  setBackend,
  tensor,
} from "../src/index";
import { backendsUnderTest, expectClose, f32, rand64 } from "./helpers";
import { refMatmul } from "./reference";

// float32 GEMM against a float64 reference: inputs are exact in f32, so the error is accumulation
// rounding, ≤ k·2⁻²⁴·Σ|aᵢbᵢ|; with k ≤ 300 and |entries| < 1 that is below 2e-5·max(1, max|C|).
const F32_TOL = 2e-5;
// float64 paths must agree with the float64 reference to rounding.
const F64_TOL = 1e-12;

const shapes: [number, number, number][] = [
  [1, 1, 1],
  [3, 5, 7],
  [17, 33, 9],
  [64, 64, 64],
  [70, 129, 300],
  [5, 257, 31],
];

describe.each(backendsUnderTest())("matmul on backend %s", (backend) => {
  beforeAll(() => setBackend(backend));
  afterAll(() => setBackend("auto"));

  for (const [m, n, k] of shapes) {
    for (const [transA, transB] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      it(`[${m}x${k}]·[${k}x${n}] transA=${transA} transB=${transB}`, () => {
        const a = rand64(transA ? [k, m] : [m, k], m * 7 + k);
        const b = rand64(transB ? [n, k] : [k, n], n * 11 + k);
        const ref = refMatmul(a, b, transA, transB);
        expectClose(matmul(f32(a), f32(b), { transA, transB }), ref, F32_TOL);
        expectClose(matmul(a, b, { transA, transB }), ref, F64_TOL);
      });
    }
  }

  it("agrees with ml-matrix's float64 mmul", () => {
    const a = rand64([40, 50], 1);
    const b = rand64([50, 30], 2);
    const ref = { data: matmulMlMatrix64(a.data, b.data, 40, 30, 50), shape: [40, 30] };
    expectClose(matmul(f32(a), f32(b)), ref, F32_TOL);
  });

  it("batches 3-D operands and broadcasts a 2-D one", () => {
    const a = rand64([3, 6, 5], 3);
    const b = rand64([3, 5, 4], 4);
    const w = rand64([4, 5], 5);
    const c = matmul(f32(a), f32(b));
    const cw = matmul(f32(a), f32(w), { transB: true });
    expect(c.shape).toEqual([3, 6, 4]);
    for (let i = 0; i < 3; i++) {
      const ai = { data: a.data.slice(i * 30, (i + 1) * 30), shape: [6, 5] };
      const bi = { data: b.data.slice(i * 20, (i + 1) * 20), shape: [5, 4] };
      const ci = { data: c.data.slice(i * 24, (i + 1) * 24), shape: [6, 4] };
      const cwi = { data: cw.data.slice(i * 24, (i + 1) * 24), shape: [6, 4] };
      expectClose(ci, refMatmul(ai, bi, false, false), F32_TOL);
      expectClose(cwi, refMatmul(ai, w, false, true), F32_TOL);
    }
  });
});

describe("matmul validation and elementwise ops", () => {
  it("rejects mismatched inner dims and bad ranks", () => {
    const a = tensor(new Float32Array(6), [2, 3]);
    expect(() => matmul(a, a)).toThrow(KernelsError);
    expect(() => matmul(tensor(new Float32Array(3), [3]), a)).toThrow(KernelsError);
    expect(matmul(a, a, { transB: true }).shape).toEqual([2, 2]);
  });

  it("add / scale / addScaledInPlace / hadamard (exact small integers)", () => {
    const a = tensor(Float32Array.of(1, 2, 3), [3]);
    const b = tensor(Float32Array.of(4, 5, 6), [3]);
    expect([...add(a, b).data]).toEqual([5, 7, 9]);
    expect([...scale(a, -2).data]).toEqual([-2, -4, -6]);
    expect([...hadamard(a, b).data]).toEqual([4, 10, 18]);
    const d = tensor(Float32Array.of(1, 1, 1), [3]);
    addScaledInPlace(d, b, 0.5);
    expect([...d.data]).toEqual([3, 3.5, 4]);
    expect(() => add(a, tensor(new Float32Array(4), [4]))).toThrow(KernelsError);
  });
});
