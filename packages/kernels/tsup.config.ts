import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  external: ["gpu.js"],
  // `import.meta.url` in the CJS build (gpu.js is resolved from where this package is installed)
  shims: true,
});
