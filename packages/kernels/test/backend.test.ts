import { afterEach, describe, expect, it } from "vitest";
import {
  getBackend,
  KernelsError,
  kron,
  kronMergeInto,
  residentZeros,
  setBackend,
  toResident,
  wasmSimdSupported,
} from "../src/index";
import { expectClose, f32, rand64 } from "./helpers";
import { refKron } from "./reference";

describe("backend selection", () => {
  afterEach(() => {
    setBackend("auto");
    delete process.env.LYCORIS_BACKEND;
  });

  it("defaults to auto, honours setBackend and rejects unknown names", () => {
    expect(getBackend()).toBe("auto");
    setBackend("js");
    expect(getBackend()).toBe("js");
    expect(() => setBackend("cuda" as never)).toThrow(KernelsError);
  });

  it("reads LYCORIS_BACKEND until a backend is set by API (the API wins)", async () => {
    const { vi } = await import("vitest");
    vi.resetModules();
    process.env.LYCORIS_BACKEND = "ml-matrix";
    const mod = await import("../src/backend/resolve-backend");
    expect(mod.getBackend()).toBe("ml-matrix");
    expect(mod.backendFor("matmul", 1 << 30).name).toBe("ml-matrix");
    mod.setBackend("js");
    expect(mod.getBackend()).toBe("js");
  });

  it("a bad LYCORIS_BACKEND fails with a clear message on first use", async () => {
    const { vi } = await import("vitest");
    vi.resetModules();
    process.env.LYCORIS_BACKEND = "nope";
    const mod = await import("../src/backend/resolve-backend");
    expect(() => mod.getBackend()).toThrow(/LYCORIS_BACKEND/);
    process.env.LYCORIS_BACKEND = "js";
    expect(mod.getBackend()).toBe("js");
  });

  it("gpu.js, an optional peer dependency, is loaded on first use when chosen before initGpuJs", async () => {
    const { vi } = await import("vitest");
    vi.resetModules(); // a fresh registry, without the gpu.js that test/setup-gpujs.ts loaded
    const gpu = await import("../src/backend/gpujs-backend");
    const mod = await import("../src/backend/resolve-backend");
    expect(gpu.getGpuJsBackend()).toBeUndefined();
    process.env.LYCORIS_BACKEND = "gpu.js";
    expect(mod.backendFor("matmul", 8).name).toBe("gpu.js"); // gpu.js is a devDependency here
    expect(gpu.getGpuJsBackend()?.name).toBe("gpu.js");
  });

  it("says how to install gpu.js when LYCORIS_BACKEND asks for it and it is not installed", async () => {
    const { vi } = await import("vitest");
    vi.resetModules();
    const gpu = await import("../src/backend/gpujs-backend");
    const { KernelsError: FreshKernelsError } = await import("../src/errors");
    // Node's own error for a package that is not installed (pnpm's NODE_PATH would find the real one here;
    // the packed-tarball test of @lycoris-ts/lokr checks the real thing in a project without gpu.js)
    const notInstalled = (id: string): never => {
      throw Object.assign(new Error(`Cannot find module '${id}'`), { code: "MODULE_NOT_FOUND" });
    };
    const run = () => gpu.requireGpuJsBackend("LYCORIS_BACKEND", notInstalled);
    expect(run).toThrow(FreshKernelsError);
    expect(run).toThrow(/^LYCORIS_BACKEND: .*not installed: install it \(`npm install gpu\.js`\)/);
    const broken = () => gpu.requireGpuJsBackend("setBackend", () => ({}));
    expect(broken).toThrow(/does not look like gpu\.js/);
  });

  it("auto picks plain JS below the measured crossovers and WASM above them, never ml-matrix or gpu.js", async () => {
    const { backendFor } = await import("../src/backend/resolve-backend");
    setBackend("auto");
    expect(backendFor("matmul", 8 ** 3).name).toBe("js");
    expect(backendFor("matmul", 1024 ** 3).name).toBe("wasm");
    expect(backendFor("kronApply", 64).name).toBe("js");
    expect(backendFor("kronApply", 8 * 64 ** 3 * 2).name).toBe("wasm");
    expect(backendFor("kronMerge", 4096 * 4096).name).toBe("wasm");
    expect(backendFor("lowRankHadamard", 4096 * 4096 * 16).name).toBe("wasm");
  });

  it("WebAssembly SIMD is available in Node 20", () => {
    expect(wasmSimdSupported()).toBe(true);
  });
});

describe("WASM-resident tensors", () => {
  it("kronMergeInto works in place on a resident W and matches the reference (1e-6: one product)", () => {
    setBackend("wasm");
    try {
      const a = rand64([8, 4], 1);
      const b = rand64([16, 8, 3], 2);
      const k = refKron(a, b);
      const w0 = rand64(k.shape, 3);
      const w = toResident(w0);
      expect(w.data.byteOffset).toBe(0);
      kronMergeInto(w, f32(a), f32(b), 2);
      expectClose(w, { data: w0.data.map((v, i) => v + 2 * k.data[i]!), shape: k.shape }, 1e-6);
      // Factors larger than the reserved scratch fall back to the copy path with the same result.
      const small = residentZeros([8 * 16, 4 * 8, 3], 16);
      kronMergeInto(small, f32(a), f32(b), 1);
      expectClose(small, kron(f32(a), f32(b)), 1e-6);
    } finally {
      setBackend("auto");
    }
  });
});
