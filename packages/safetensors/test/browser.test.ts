import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { findSafetensorsFiles } from "../../../test-support/fixtures";
import { hasChromium, runInChromium } from "../../../test-support/run-in-chromium";
import { type BrowserReport, run } from "./browser/entry";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

describe.skipIf(!hasChromium())("@lycoris-ts/safetensors in headless Chromium", () => {
  it("bundles for the browser and reads a File / writes a WritableStream like Node does", async () => {
    const fixture = findSafetensorsFiles().find((f) => f.endsWith("lokr-multi-adapter/base.safetensors"))!;
    const bytes = new Uint8Array(readFileSync(fixture));
    // The built package as a user installs it (turbo builds it before tests).
    const { result: report, errors } = await runInChromium<BrowserReport>({
      entry: here("./browser/entry.ts"),
      alias: { "@lycoris-ts/safetensors": here("../dist/index.js") },
      external: ["gpu.js"],
      fn: "runSafetensors",
      arg: [...bytes],
    });
    expect(errors).toEqual([]);
    const node = await run(bytes);
    expect(node.rewrittenEqual).toBe(true);
    expect(report.rewrittenEqual).toBe(true);
    expect(report.names).toEqual(node.names);
    expect(report.names.length).toBeGreaterThan(0);
    // the same float32 values summed in the same order: identical in both engines
    expect(report.sums).toEqual(node.sums);
    expect(report.fileAccess).toMatch(/^SafetensorsError: .*file access needs Node\.js/);
  }, 60_000);
});
