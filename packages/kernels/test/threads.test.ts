import { afterAll, describe, expect, it } from "vitest";
import { getThreads, KernelsError, matmul, setBackend, setThreads } from "../src/index";
import { expectClose, f32, rand64 } from "./helpers";
import { refMatmul } from "./reference";

// Same float32 bound as the matmul suite: the threaded path runs the same kernels on row bands.
const TOL = 2e-5;

describe("multi-threaded WASM matmul (Node worker threads over a shared memory)", () => {
  afterAll(() => {
    setThreads(1);
    setBackend("auto");
  });

  it("validates the thread count", () => {
    expect(() => setThreads(0)).toThrow(KernelsError);
    expect(getThreads()).toBe(1);
  });

  it("splits rows over 3 threads and matches the reference, with transposes and after memory growth", () => {
    setBackend("wasm");
    expect(setThreads(3)).toBe(3);
    for (const [m, n, k, transA, transB] of [
      [200, 150, 90, false, false],
      [131, 257, 120, true, false],
      [97, 64, 300, false, true],
      [400, 300, 260, true, true], // grows the shared memory
      [130, 140, 100, false, false], // and back to a smaller call on the grown memory
    ] as const) {
      const a = rand64(transA ? [k, m] : [m, k], m + k);
      const b = rand64(transB ? [n, k] : [k, n], n + k);
      expectClose(matmul(f32(a), f32(b), { transA, transB }), refMatmul(a, b, transA, transB), TOL);
    }
    expect(setThreads(1)).toBe(1);
  });
});
