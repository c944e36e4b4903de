import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { type BrowserReport, run } from "./browser/entry";
import { findSafetensorsFiles } from "./support/fixtures";

const CHROMIUM = "/usr/bin/chromium";
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

describe.skipIf(!existsSync(CHROMIUM))("@lycoris-ts/safetensors in headless Chromium", () => {
  it("bundles for the browser and reads a File / writes a WritableStream like Node does", async () => {
    const fixture = findSafetensorsFiles().find((f) => f.endsWith("lokr-multi-adapter/base.safetensors"))!;
    const bytes = new Uint8Array(readFileSync(fixture));
    // The built package as a user installs it (turbo builds it before tests).
    const bundle = await build({
      entryPoints: [here("./browser/entry.ts")],
      bundle: true,
      format: "iife",
      platform: "browser",
      write: false,
      logLevel: "silent",
      external: ["gpu.js"],
      alias: { "@lycoris-ts/safetensors": here("../dist/index.js") },
    });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.setContent("<!doctype html><html><body></body></html>");
      await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
      const report = (await page.evaluate(
        (data) =>
          (globalThis as unknown as { runSafetensors: (b: Uint8Array) => Promise<unknown> }).runSafetensors(
            Uint8Array.from(data),
          ),
        [...bytes],
      )) as BrowserReport;
      expect(errors).toEqual([]);
      const node = await run(bytes);
      expect(node.rewrittenEqual).toBe(true);
      expect(report.rewrittenEqual).toBe(true);
      expect(report.names).toEqual(node.names);
      expect(report.names.length).toBeGreaterThan(0);
      // the same float32 values summed in the same order: identical in both engines
      expect(report.sums).toEqual(node.sums);
      expect(report.fileAccess).toMatch(/^SafetensorsError: .*file access needs Node\.js/);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
