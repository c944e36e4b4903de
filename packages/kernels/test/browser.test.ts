import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";

const CHROMIUM = "/usr/bin/chromium";
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const distEntry = here("../dist/index.js");

// float32 against the float64 reference, relative to max(1, max|ref|): sums of ≤ 300 products of
// |x| < 1 stay below 2e-5 on the CPU. WebGL2 on SwiftShader computes in IEEE fp32 too, but its
// exp/log-free dot products are accumulated in a different order: 1e-4 leaves margin.
const WASM_TOL = 2e-5;
const GPU_TOL = 1e-4;

interface Report {
  wasmSimd: boolean;
  wasm: Record<string, number>;
  gpu: { mode: string; renderer?: string; hardware: boolean; preferred: boolean };
  gpujs: Record<string, number>;
  residentUploaded: boolean;
}

describe.skipIf(!existsSync(CHROMIUM))("headless Chromium (Debian chromium)", () => {
  it("runs the WASM and gpu.js WebGL2 paths of the built package against the float64 reference", async () => {
    // Bundle the built package (dist) when present, else the sources, for the browser.
    const pkgEntry = existsSync(distEntry) ? distEntry : here("../src/index.ts");
    const bundle = await build({
      entryPoints: [here("./browser/entry.ts")],
      bundle: true,
      format: "iife",
      platform: "browser",
      write: false,
      logLevel: "silent",
      alias: { "@lycoris-ts/kernels": pkgEntry },
    });
    const code = bundle.outputFiles[0]!.text;
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
        "--enable-unsafe-swiftshader",
        "--use-angle=swiftshader",
      ],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.setContent("<!doctype html><html><body></body></html>");
      await page.addScriptTag({ content: code });
      const report = (await page.evaluate(() =>
        (globalThis as unknown as { runChecks: () => Promise<unknown> }).runChecks(),
      )) as Report;
      if (process.env.KERNELS_BROWSER_REPORT) console.log(JSON.stringify(report));
      expect(errors).toEqual([]);
      expect(report.wasmSimd).toBe(true);
      for (const [op, err] of Object.entries(report.wasm)) expect(err, `wasm ${op}`).toBeLessThan(WASM_TOL);
      expect(report.gpu.mode).toBe("webgl2");
      // SwiftShader is a software adapter: auto must not pick gpu.js.
      expect(report.gpu.hardware).toBe(false);
      expect(report.gpu.preferred).toBe(false);
      expect(report.residentUploaded).toBe(true);
      for (const [op, err] of Object.entries(report.gpujs)) expect(err, `gpu.js ${op}`).toBeLessThan(GPU_TOL);
    } finally {
      await browser.close();
    }
  }, 120_000);
});
