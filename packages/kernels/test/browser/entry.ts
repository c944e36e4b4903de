// Browser-side checks, bundled by test/browser.test.ts with esbuild (from the built package when it
// exists) and run in headless Chromium. Compares the WASM and gpu.js (WebGL2) float32 paths with the
// package's float64 plain-JS reference, which the Node suite checks against independent loops.

import * as K from "@lycoris-ts/kernels";
import * as gpujs from "gpu.js";

type T64 = { data: Float64Array; shape: readonly number[] };

function rand(shape: number[], seed: number): T64 {
  const t = K.uniformTensor(shape, K.createRng(seed), -1, 1);
  return { data: Float64Array.from(t.data), shape };
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  let scale = 1;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= worst)) worst = d;
  }
  return worst / scale;
}

function opChecks(): Record<string, number> {
  const out: Record<string, number> = {};
  const a = rand([70, 300], 1);
  const b = rand([300, 129], 2);
  out.matmul = relErr(K.matmul(K.toFloat32(a), K.toFloat32(b)).data, K.matmul(a, b).data);
  out.matmulTransB = relErr(
    K.matmul(K.toFloat32(b), K.toFloat32(b), { transB: true }).data,
    K.matmul(b, b, { transB: true }).data,
  );
  const ka = rand([16, 12], 3);
  const kb = rand([24, 20], 4);
  const x = rand([9, 240], 5);
  out.kronApply = relErr(
    K.kronApply(K.toFloat32(x), K.toFloat32(ka), K.toFloat32(kb), 0.5).data,
    K.kronApply(x, ka, kb, 0.5).data,
  );
  const w = K.toResident(K.toFloat32(rand([16 * 24, 12 * 20], 6)));
  const w64 = K.toFloat64(w);
  K.kronMergeInto(w, K.toFloat32(ka), K.toFloat32(kb), 2);
  K.kronMergeInto(w64, ka, kb, 2);
  out.kronMergeResident = relErr(w.data, w64.data);
  const a1 = rand([64, 8], 7);
  const b1 = rand([8, 130], 8);
  const a2 = rand([64, 4], 9);
  const b2 = rand([4, 130], 10);
  out.lowRankHadamard = relErr(
    K.lowRankHadamard(K.toFloat32(a1), K.toFloat32(b1), K.toFloat32(a2), K.toFloat32(b2), 0.5).data,
    K.lowRankHadamard(a1, b1, a2, b2, 0.5).data,
  );
  const cx = rand([1, 4, 9, 9], 11);
  const cw = rand([6, 2, 3, 3], 12);
  const o = {
    stride: [1, 1],
    padding: "same" as const,
    dilation: [1, 1],
    groups: 2,
    paddingMode: "reflect" as const,
  };
  out.conv2d = relErr(
    K.conv2d(K.toFloat32(cx), K.toFloat32(cw), null, o).data,
    K.conv2d(cx, cw, null, o).data,
  );
  return out;
}

async function runChecks(): Promise<object> {
  const result: Record<string, unknown> = { wasmSimd: K.wasmSimdSupported() };
  K.setBackend("wasm");
  result.wasm = opChecks();
  // gpu.js on WebGL2 (SwiftShader here): a 64-texel tile limit forces the tiled path.
  const info = await K.initGpuJs({ module: gpujs, mode: "webgl2", maxTextureSize: 64 });
  result.gpu = info;
  K.setBackend("gpu.js");
  const a = rand([100, 37], 13);
  const b = rand([37, 130], 14);
  // A resident (texture) right-hand operand, uploaded once and used by two calls.
  const wr = rand([37, 60], 15);
  const wr32 = K.toFloat32(wr);
  result.residentUploaded = K.gpuResident(wr32);
  const resident1 = relErr(K.matmul(K.toFloat32(a), wr32).data, K.matmul(a, wr).data);
  const resident2 = relErr(
    K.matmul(K.toFloat32(b), wr32, { transA: true }).data,
    K.matmul(b, wr, { transA: true }).data,
  );
  K.releaseGpuResident(wr32);
  result.gpujs = {
    matmulTiled: relErr(K.matmul(K.toFloat32(a), K.toFloat32(b)).data, K.matmul(a, b).data),
    matmulResident: Math.max(resident1, resident2),
    ...opChecks(),
  };
  K.setBackend("auto");
  return result;
}

(globalThis as { runChecks?: typeof runChecks }).runChecks = runChecks;
