import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { matmul, setBackend, toResident } from "../src/index";
import { expectClose, f32, rand64 } from "./helpers";
import { refMatmul } from "./reference";

// float32 sums of up to 4100 products of |x| < 1, in 16 partial sums: 2e-5 relative to max(1, max|y|).
const TOL = 2e-5;

describe("x·Wᵀ at small batch (the WASM dot-rows path, W streamed in bands)", () => {
  beforeAll(() => setBackend("wasm"));
  afterAll(() => setBackend("auto"));

  it.each([
    [1, 7, 16],
    [1, 300, 4100], // k not a multiple of 16, several bands (64 rows of 4112 floats each)
    [3, 65, 33],
    [8, 129, 1024],
    [16, 40, 64],
    [17, 20, 48], // one row above the threshold: the packed GEMM
  ])("m=%d n=%d k=%d", (m, n, k) => {
    const x = rand64([m, k], m * 1000 + n);
    const w = rand64([n, k], k);
    expectClose(matmul(f32(x), f32(w), { transB: true }), refMatmul(x, w, false, true), TOL);
  });
});

describe("x·Wᵀ with a WASM-resident W (read in place)", () => {
  beforeAll(() => setBackend("auto"));

  it.each([
    [1, 64, 32],
    [16, 200, 64],
    [4, 50, 24], // k not a multiple of 16: falls back to the copying path
  ])("m=%d n=%d k=%d equals the reference and leaves W untouched", (m, n, k) => {
    const x = rand64([m, k], 5);
    const w = rand64([n, k], 6);
    const resident = toResident(f32(w));
    const before = Float32Array.from(resident.data);
    expectClose(matmul(f32(x), resident, { transB: true }), refMatmul(x, w, false, true), TOL);
    expect(Array.from(resident.data)).toEqual(Array.from(before));
  });
});
