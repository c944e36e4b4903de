import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gpuResidentUploads } from "../src/backend/gpujs-backend";
import {
  type ConvOptions,
  conv2d,
  gpuResident,
  initGpuJs,
  kronApply,
  lowRankHadamardBackward,
  matmul,
  releaseGpuResident,
  setBackend,
  tuckerRebuild,
} from "../src/index";
import { expectClose, f32, rand64 } from "./helpers";
import { refConv2d, refKron, refLinear, refMatmul, refTucker } from "./reference";

// gpu.js computes in float32 (single precision) like the other backends: same 2e-5 bound as the
// matmul suite (sums of ≤ 100 products of |x| < 1).
const TOL = 2e-5;

describe("gpu.js backend specifics (Node: WebAssembly mode, small sizes; the op suites also run on it)", () => {
  beforeAll(async () => {
    // A tiny max texture size forces output tiling, the path SwiftShader's 8192 limit needs.
    const info = await initGpuJs({ maxTextureSize: 16 });
    expect(info.hardware).toBe(false);
    expect(info.preferred).toBe(false);
    setBackend("gpu.js");
  }, 60_000);
  afterAll(() => setBackend("auto"));

  it.each([
    [5, 7, 3, false, false],
    [33, 20, 17, false, false],
    [21, 40, 9, true, false],
    [18, 35, 12, false, true],
    [17, 17, 5, true, true],
  ])("matmul m=%d n=%d k=%d transA=%s transB=%s (tiled at 16)", (m, n, k, transA, transB) => {
    const a = rand64(transA ? [k, m] : [m, k], 1);
    const b = rand64(transB ? [n, k] : [k, n], 2);
    expectClose(matmul(f32(a), f32(b), { transA, transB }), refMatmul(a, b, transA, transB), TOL);
  });

  it("structured kron apply, Tucker rebuild, LoHa backward and conv run through gpu.js matmul", () => {
    const a = rand64([3, 4], 3);
    const b = rand64([5, 6], 4);
    const x = rand64([7, 24], 5);
    expectClose(kronApply(f32(x), f32(a), f32(b)), refLinear(x, refKron(a, b)), TOL);
    const core = rand64([3, 2, 3, 3], 6);
    const ta = rand64([3, 5], 7);
    const tb = rand64([2, 4], 8);
    expectClose(tuckerRebuild(f32(core), f32(ta), f32(tb)), refTucker(core, ta, tb), TOL);
    const a1 = rand64([6, 2], 9);
    const b1 = rand64([2, 5], 10);
    const dd = rand64([6, 5], 11);
    const g32 = lowRankHadamardBackward(f32(a1), f32(b1), f32(a1), f32(b1), f32(dd));
    const g64 = lowRankHadamardBackward(a1, b1, a1, b1, dd);
    expectClose(g32.da1, g64.da1, TOL);
    const cx = rand64([1, 2, 6, 6], 12);
    const cw = rand64([3, 2, 3, 3], 13);
    const o: ConvOptions = {
      stride: [1, 1],
      padding: "same",
      dilation: [1, 1],
      groups: 1,
      paddingMode: "circular",
    };
    expectClose(
      conv2d(f32(cx), f32(cw), null, o),
      refConv2d(cx, cw, null, [1, 1], [1, 1, 1, 1], [1, 1], 1, "circular"),
      TOL,
    );
  });
});

describe("gpu.js resident operands (uploaded once, reused by later matmuls)", () => {
  let inputs = 0;
  beforeAll(async () => {
    const real = await import("gpu.js");
    const mod = (real as { default?: unknown }).default ?? real;
    const counted = {
      GPU: (mod as { GPU: unknown }).GPU,
      input: (v: Float32Array, size: number[]) => {
        inputs += 1;
        return (mod as { input(v: Float32Array, s: number[]): unknown }).input(v, size);
      },
    };
    await initGpuJs({ module: counted, maxTextureSize: 64 });
    setBackend("gpu.js");
  }, 60_000);
  afterAll(() => setBackend("auto"));

  it.each([false, true])(
    "x·W%s with W resident gives the reference and uploads only x per call",
    (transpose) => {
      const w = rand64(transpose ? [12, 9] : [9, 12], 21);
      const w32 = f32(w);
      const before = gpuResidentUploads();
      expect(gpuResident(w32, transpose)).toBe(true);
      expect(gpuResidentUploads()).toBe(before + 1);
      for (let call = 0; call < 3; call++) {
        const x = rand64([5, 9], 30 + call);
        const start = inputs;
        const y = matmul(f32(x), w32, { transB: transpose });
        expect(inputs - start).toBe(1); // only x went up
        expectClose(y, refMatmul(x, w, false, transpose), TOL);
      }
      releaseGpuResident(w32);
      const start = inputs;
      matmul(f32(rand64([5, 9], 40)), w32, { transB: transpose });
      expect(inputs - start).toBe(2); // released: both operands uploaded again
    },
  );
});
