import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KernelsError, kron, lowRankHadamard, matmul, setBackend } from "../src/index";
import { backendsUnderTest, expectClose, f32, rand64 } from "./helpers";
import { refKron, refLowRankHadamard, refMatmul } from "./reference";

// Ops writing into a caller's buffer: the buffer is pre-filled with NaN so a value not overwritten
// shows, and is longer than needed (the result is its prefix). Values against the float64 references
// with the tolerances of the ops' own tests: kron one f32 rounding (1e-6 relative); matmul / LoHa sums
// of ≤ 24 f32 products (2e-5 relative to max(1, max|·|)).
const KRON_TOL = 1e-6;
const SUM_TOL = 2e-5;
const dirty = (n: number): Float32Array => new Float32Array(n + 7).fill(Number.NaN);

describe.each(backendsUnderTest())("output buffers on backend %s", (backend) => {
  beforeAll(() => setBackend(backend));
  afterAll(() => setBackend("auto"));

  it("kron, matmul and lowRankHadamard write into `out` (reused twice) and return its prefix", () => {
    const [a, b] = [rand64([6, 5], 1), rand64([4, 3], 2)];
    const out = dirty(6 * 4 * 5 * 3);
    for (let round = 0; round < 2; round++) {
      const k = kron(f32(a), f32(b), out);
      expect(k.data.buffer).toBe(out.buffer);
      expect(k.data.length).toBe(360);
      expectClose(k, refKron(a, b), KRON_TOL);
    }
    const [x, y] = [rand64([9, 24], 3), rand64([24, 11], 4)];
    const mOut = dirty(99);
    for (let round = 0; round < 2; round++) {
      const m = matmul(f32(x), f32(y), { out: mOut });
      expect(m.data.buffer).toBe(mOut.buffer);
      expectClose(m, refMatmul(x, y, false, false), SUM_TOL);
    }
    const [a1, b1, a2, b2] = [rand64([13, 4], 5), rand64([4, 17], 6), rand64([13, 3], 7), rand64([3, 17], 8)];
    const hOut = dirty(13 * 17);
    for (let round = 0; round < 2; round++) {
      const h = lowRankHadamard(f32(a1), f32(b1), f32(a2), f32(b2), 0.5, hOut);
      expect(h.data.buffer).toBe(hOut.buffer);
      expectClose(h, refLowRankHadamard(a1, b1, a2, b2, 0.5), SUM_TOL);
    }
  });
});

describe("a wrong output buffer is a KernelsError naming the op", () => {
  it("too short, or another array type", () => {
    const [a, b] = [f32(rand64([2, 2], 1)), f32(rand64([2, 2], 2))];
    expect(() => kron(a, b, new Float32Array(15))).toThrow(KernelsError);
    expect(() => kron(a, b, new Float32Array(15))).toThrow(
      /kron: out must be a Float32Array of at least 16 values/,
    );
    expect(() => matmul(a, b, { out: new Float64Array(4) })).toThrow(/matmul: out must be a Float32Array/);
  });
});
