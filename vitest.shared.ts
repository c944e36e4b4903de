import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/**
 * Shared vitest settings for every workspace package. Tests resolve sibling
 * packages to their TypeScript sources, so a change in one package is seen by
 * the tests of another without a rebuild; the packaged output is checked
 * separately (publint, attw, the packed-tarball test).
 */
export const sharedTestConfig = defineConfig({
  resolve: {
    alias: {
      "@lycoris-ts/errors": here("./packages/errors/src/index.ts"),
      "@lycoris-ts/lycoris-config": here("./packages/lycoris-config/src/index.ts"),
      "@lycoris-ts/kernels": here("./packages/kernels/src/index.ts"),
      "@lycoris-ts/safetensors": here("./packages/safetensors/src/index.ts"),
      "@lycoris-ts/runtime": here("./packages/runtime/src/index.ts"),
      "@lycoris-ts/lokr": here("./packages/lokr/src/index.ts"),
      "@lycoris-ts/loha": here("./packages/loha/src/index.ts"),
      "@lycoris-ts/lora": here("./packages/lora/src/index.ts"),
      "@lycoris-ts/lycoris-format": here("./packages/lycoris-format/src/index.ts"),
    },
  },
  test: {
    include: ["test/**/*.test.ts"],
    reporters: ["default", "json"],
    outputFile: { json: "test-results/vitest.json" },
    testTimeout: 60_000,
    pool: "forks",
  },
});
