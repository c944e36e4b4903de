import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const appDir = fileURLToPath(new URL("../../", import.meta.url));
const SIBLINGS = ["kernels", "lycoris-config", "runtime", "lokr", "loha", "lycoris-format", "adapter-files"];

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Where the tests' copy of the CLI is built (same tsup config as `dist/`, other directory). */
export const TEST_BUILD_DIR = "test-results/cli-build";

/** Where the tests compile the LoCon example (examples/custom-variant) to a `--plugin` module. */
export const PLUGIN_BUILD_DIR = "test-results/plugins";
const exampleDir = fileURLToPath(new URL("../../../../examples/custom-variant/", import.meta.url));

/**
 * vitest global setup: builds the CLI with tsup into {@link TEST_BUILD_DIR} (a private copy, so
 * that a concurrent `pnpm build` cleaning `dist/` cannot pull the file away mid-run) (the workspace libraries are bundled from
 * their dist, built first when missing). Retries a few times, since a sibling package may be
 * rebuilt at the same moment by another process.
 */
export default function setup(): void {
  let lastError: unknown;
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      const missing = SIBLINGS.filter(
        (p) =>
          !existsSync(fileURLToPath(new URL(`../../../../packages/${p}/dist/index.js`, import.meta.url))),
      );
      if (missing.length > 0) {
        execFileSync("pnpm", ["--filter", "@lycoris-ts/cli^...", "build"], { cwd: appDir, stdio: "pipe" });
      }
      execFileSync("pnpm", ["exec", "tsup", "--out-dir", TEST_BUILD_DIR], { cwd: appDir, stdio: "pipe" });
      // the example as a user would ship it: plain ESM importing the @lycoris-ts packages
      execFileSync(
        "pnpm",
        ["exec", "tsup", "src/locon.ts", "--no-config", "--format", "esm", "--target", "node20"].concat([
          "--out-dir",
          `${appDir}/${PLUGIN_BUILD_DIR}`,
        ]),
        { cwd: exampleDir, stdio: "pipe" },
      );
      if (
        existsSync(`${appDir}/${TEST_BUILD_DIR}/main.js`) &&
        existsSync(`${appDir}/${PLUGIN_BUILD_DIR}/locon.js`)
      )
        return;
    } catch (error) {
      lastError = error;
    }
    sleep(3000);
  }
  throw new Error(`could not build the CLI: ${String(lastError)}`);
}
