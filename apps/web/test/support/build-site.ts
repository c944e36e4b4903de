import { fileURLToPath } from "node:url";
import { build } from "vite";

/** Where the tests' copy of the site is built (same config as dist/, another folder). */
export const SITE_DIR = fileURLToPath(new URL("../../test-results/site/", import.meta.url));

/** vitest global setup: `vite build` into {@link SITE_DIR}. */
export default async function setup(): Promise<void> {
  await build({
    root: fileURLToPath(new URL("../../", import.meta.url)),
    logLevel: "error",
    build: { outDir: SITE_DIR, emptyOutDir: true },
  });
}
