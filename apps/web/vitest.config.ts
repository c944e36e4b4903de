import { fileURLToPath } from "node:url";
import { mergeConfig } from "vitest/config";
import { sharedTestConfig } from "../../vitest.shared";

// The tests drive the built site in headless Chromium; the global setup builds it once (a private
// copy under test-results/, so a concurrent `pnpm build` cannot pull files away mid-run). The Node
// side computes the reference numbers with the same libraries, from their sources.
export default mergeConfig(sharedTestConfig, {
  resolve: {
    alias: {
      "@lycoris-ts/adapter-files": fileURLToPath(
        new URL("../../packages/adapter-files/src/index.ts", import.meta.url),
      ),
    },
  },
  test: {
    globalSetup: ["./test/support/build-site.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
