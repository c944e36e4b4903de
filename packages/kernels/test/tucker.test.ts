import { afterAll, beforeAll, describe, it } from "vitest";
import { setBackend, type Tensor, tuckerRebuild, tuckerRebuildBackward } from "../src/index";
import { backendsUnderTest, dot, expectClose, f32, numericGrad, rand64 } from "./helpers";
import { refTucker } from "./reference";

// Sums of r1·r2 ≤ 64 triple products in f32: 1e-5 relative.
const TOL = 1e-5;

describe.each(backendsUnderTest())("tuckerRebuild on backend %s", (backend) => {
  beforeAll(() => setBackend(backend));
  afterAll(() => setBackend("auto"));

  it.each([
    [[4, 4, 3, 3], 6, 5],
    [[8, 8, 3, 3], 16, 12],
    [[3, 2, 5], 4, 7],
    [[2, 3], 5, 4],
  ])("core %j, p=%d, q=%d matches einsum('i j ..., i p, j r -> p r ...')", (coreShape, p, q) => {
    const core = rand64(coreShape, 1);
    const a = rand64([coreShape[0]!, p], 2);
    const b = rand64([coreShape[1]!, q], 3);
    const ref = refTucker(core, a, b);
    expectClose(tuckerRebuild(f32(core), f32(a), f32(b)), ref, TOL);
    expectClose(tuckerRebuild(core, a, b), ref, 1e-12);
  });
});

describe("tuckerRebuildBackward gradient check (float64 finite differences)", () => {
  it("dCore, da, db match central differences (1e-7; multilinear loss, h = 1e-3)", () => {
    const core = rand64([3, 2, 3, 2], 31);
    const a = rand64([3, 4], 32);
    const b = rand64([2, 5], 33);
    const dOut = rand64([4, 5, 3, 2], 34);
    const loss = () => dot(dOut.data, tuckerRebuild(core, a, b).data);
    const g = tuckerRebuildBackward(core, a, b, dOut);
    const close = (t: Tensor<Float64Array>, num: Float64Array) =>
      expectClose(t, { data: num, shape: t.shape }, 1e-7);
    close(g.dCore, numericGrad(core, loss));
    close(g.da, numericGrad(a, loss));
    close(g.db, numericGrad(b, loss));
  });

  it("float32 gradients match float64 (1e-5 relative)", () => {
    const core = rand64([4, 3, 3, 3], 41);
    const a = rand64([4, 6], 42);
    const b = rand64([3, 7], 43);
    const dOut = rand64([6, 7, 3, 3], 44);
    const g64 = tuckerRebuildBackward(core, a, b, dOut);
    const g32 = tuckerRebuildBackward(f32(core), f32(a), f32(b), f32(dOut));
    expectClose(g32.dCore, g64.dCore, TOL);
    expectClose(g32.da, g64.da, TOL);
    expectClose(g32.db, g64.db, TOL);
  });
});
