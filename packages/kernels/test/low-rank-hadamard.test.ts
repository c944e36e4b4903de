import { afterAll, beforeAll, describe, it } from "vitest";
import {
  lowRankHadamard,
  lowRankHadamardApply,
  lowRankHadamardBackward,
  setBackend,
  type Tensor,
} from "../src/index";
import { backendsUnderTest, dot, expectClose, f32, numericGrad, rand64 } from "./helpers";
import { refLinear, refLowRankHadamard } from "./reference";

// Two f32 rank-r dot products (r ≤ 16) and a product: ~ (2r+1)·2⁻²⁴ relative; 1e-5 leaves margin.
const TOL = 1e-5;

describe.each(backendsUnderTest())("LoHa ops on backend %s", (backend) => {
  beforeAll(() => setBackend(backend));
  afterAll(() => setBackend("auto"));

  it.each([
    [7, 9, 2, 3],
    [64, 48, 8, 8],
    [33, 130, 4, 16],
    [1, 5, 1, 1],
    [40, 4100, 3, 2], // several WASM row bands, 16-wide and 4-wide column kernels
  ])("lowRankHadamard [out=%d, in=%d, r1=%d, r2=%d]", (out, inF, r1, r2) => {
    const a1 = rand64([out, r1], 1);
    const b1 = rand64([r1, inF], 2);
    const a2 = rand64([out, r2], 3);
    const b2 = rand64([r2, inF], 4);
    const ref = refLowRankHadamard(a1, b1, a2, b2, 0.25);
    expectClose(lowRankHadamard(f32(a1), f32(b1), f32(a2), f32(b2), 0.25), ref, TOL);
    expectClose(lowRankHadamard(a1, b1, a2, b2, 0.25), ref, 1e-12);
  });

  it("lowRankHadamardApply equals x·Δᵀ (Khatri–Rao form, 2e-5: sums over in·r² terms)", () => {
    const a1 = rand64([24, 4], 1);
    const b1 = rand64([4, 40], 2);
    const a2 = rand64([24, 3], 3);
    const b2 = rand64([3, 40], 4);
    const x = rand64([2, 5, 40], 5);
    const delta = refLowRankHadamard(a1, b1, a2, b2, 1.5);
    const ref = refLinear({ data: x.data, shape: [10, 40] }, delta);
    const y = lowRankHadamardApply(f32(x), f32(a1), f32(b1), f32(a2), f32(b2), 1.5);
    expectClose({ data: y.data, shape: [10, 24] }, ref, 2e-5);
    expectClose({ data: y.data, shape: y.shape }, { data: ref.data, shape: [2, 5, 24] }, 2e-5);
  });

  it("lowRankHadamardBackward in float32 matches float64 (2e-5 relative)", () => {
    const a1 = rand64([20, 3], 1);
    const b1 = rand64([3, 30], 2);
    const a2 = rand64([20, 2], 3);
    const b2 = rand64([2, 30], 4);
    const dd = rand64([20, 30], 5);
    const g64 = lowRankHadamardBackward(a1, b1, a2, b2, dd, 0.5);
    const g32 = lowRankHadamardBackward(f32(a1), f32(b1), f32(a2), f32(b2), f32(dd), 0.5);
    expectClose(g32.da1, g64.da1, 2e-5);
    expectClose(g32.db1, g64.db1, 2e-5);
    expectClose(g32.da2, g64.da2, 2e-5);
    expectClose(g32.db2, g64.db2, 2e-5);
  });
});

describe("lowRankHadamardBackward gradient check (float64 finite differences)", () => {
  it("matches central differences (1e-7; the loss is bilinear in each factor, h = 1e-3)", () => {
    const a1 = rand64([5, 2], 21);
    const b1 = rand64([2, 6], 22);
    const a2 = rand64([5, 3], 23);
    const b2 = rand64([3, 6], 24);
    const dd = rand64([5, 6], 25);
    const s = -1.25;
    const loss = () => dot(dd.data, lowRankHadamard(a1, b1, a2, b2, s).data);
    const g = lowRankHadamardBackward(a1, b1, a2, b2, dd, s);
    const close = (t: Tensor<Float64Array>, num: Float64Array) =>
      expectClose(t, { data: num, shape: t.shape }, 1e-7);
    close(g.da1, numericGrad(a1, loss));
    close(g.db1, numericGrad(b1, loss));
    close(g.da2, numericGrad(a2, loss));
    close(g.db2, numericGrad(b2, loss));
  });
});
