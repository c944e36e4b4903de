import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { run } from "./browser/entry";

const CHROMIUM = "/usr/bin/chromium";
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

describe.skipIf(!existsSync(CHROMIUM))("@lycoris-ts/lokr in headless Chromium", () => {
  it("bundles for the browser (no Node built-ins needed) and runs a LoKr adapter end to end", async () => {
    // The built package as a user installs it (turbo builds it and its dependencies before tests).
    const bundle = await build({
      entryPoints: [here("./browser/entry.ts")],
      bundle: true,
      format: "iife",
      platform: "browser",
      write: false,
      logLevel: "silent",
      external: ["gpu.js"],
      alias: { "@lycoris-ts/lokr": here("../dist/index.js") },
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
      const report = (await page.evaluate(() =>
        (globalThis as unknown as { runLoKr: () => unknown }).runLoKr(),
      )) as ReturnType<typeof run>;
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
    } finally {
      await browser.close();
    }
  }, 60_000);
});
