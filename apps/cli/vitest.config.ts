import { mergeConfig } from "vitest/config";
import { sharedTestConfig } from "../../vitest.shared";

// The tests drive the built CLI (dist/main.js) as a subprocess; the global setup builds it once.
export default mergeConfig(sharedTestConfig, {
  test: { globalSetup: ["./test/support/build-cli.ts"] },
});
