import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { hasChromium, runInChromium } from "../../../test-support/run-in-chromium";
import { run } from "./browser/entry";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

describe.skipIf(!hasChromium())("@lycoris-ts/lokr in headless Chromium", () => {
  it("bundles for the browser (no Node built-ins needed) and runs a LoKr adapter end to end", async () => {
    // The built package as a user installs it (turbo builds it and its dependencies before tests).
    const { result: report, errors } = await runInChromium<ReturnType<typeof run>>({
      entry: here("./browser/entry.ts"),
      alias: { "@lycoris-ts/lokr": here("../dist/index.js") },
      fn: "runLoKr",
      external: ["gpu.js"],
    });
    expect(errors).toEqual([]);
    // the same program in Node gives the same summary line and keys
    const node = run();
    expect(report.line).toBe(node.line);
    expect(report.line).toMatch(/^trainable params: 80 \|\| all params: /);
    // merged vs unmerged forward in float32: sums of 64 products, 1e-4 absolute on outputs of order 10
    expect(report.diff).toBeLessThan(1e-4);
    expect(report.keys).toEqual(node.keys);
    // file IO is the one thing a browser cannot do: a clear error, not a crash at import
    expect(report.fileAccess).toMatch(/file access needs Node\.js/);
    expect(report.keys).toEqual([
      "base_model.model.0.lokr_w1",
      "base_model.model.0.lokr_w2_a",
      "base_model.model.0.lokr_w2_b",
    ]);
  }, 60_000);
});
