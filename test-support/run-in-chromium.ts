// Runs a test entry in headless Chromium (Debian's /usr/bin/chromium): bundled for the browser by
// esbuild, loaded into a blank page, one global function called. Shared by the packages' browser tests.
import { existsSync } from "node:fs";
import { build } from "esbuild";
import { type Browser, chromium } from "playwright-core";

/** Debian's Chromium; browser tests skip where it is absent. */
export const CHROMIUM = "/usr/bin/chromium";
export const hasChromium = (): boolean => existsSync(CHROMIUM);

/** Headless Debian Chromium (no GPU, no network services); extra flags appended. */
export function launchChromium(args: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      ...args,
    ],
  });
}

/** What {@link runInChromium} bundles and calls. */
export interface ChromiumRun {
  /** The test entry (TypeScript), which sets `globalThis[fn]`. */
  readonly entry: string;
  /** Package name → file, e.g. the built `dist/index.js` of the package under test. */
  readonly alias: Readonly<Record<string, string>>;
  /** The global function the entry defines; called with `arg` (JSON-serialisable), maybe async. */
  readonly fn: string;
  readonly arg?: unknown;
  /** Modules left out of the bundle (e.g. optional peers). */
  readonly external?: readonly string[];
  /** Extra Chromium flags. */
  readonly args?: readonly string[];
}

/** Bundles and runs `entry` in a fresh page; the function's result and any page errors. */
export async function runInChromium<T>(run: ChromiumRun): Promise<{ result: T; errors: string[] }> {
  const bundle = await build({
    entryPoints: [run.entry],
    bundle: true,
    format: "iife",
    platform: "browser",
    write: false,
    logLevel: "silent",
    external: [...(run.external ?? [])],
    alias: { ...run.alias },
  });
  const browser = await launchChromium(run.args);
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.setContent("<!doctype html><html><body></body></html>");
    await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
    const result = (await page.evaluate(
      ([fn, arg]) => (globalThis as unknown as Record<string, (a: unknown) => unknown>)[fn as string]!(arg),
      [run.fn, run.arg] as const,
    )) as T;
    return { result, errors };
  } finally {
    await browser.close();
  }
}
