import { defineConfig, mergeConfig } from "vitest/config";
import { sharedTestConfig } from "../../vitest.shared";

// The WASM kernels module is generated from wasm/kernels.wat; make sure it exists on a fresh clone.
export default mergeConfig(
  sharedTestConfig,
  defineConfig({ test: { globalSetup: ["./test/global-setup.ts"], setupFiles: ["./test/setup-gpujs.ts"] } }),
);
