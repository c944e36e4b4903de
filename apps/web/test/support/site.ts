import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { launchChromium } from "../../../../test-support/run-in-chromium";
import { SITE_DIR } from "./build-site";
import { serveStatic } from "./static-server";

/** The built site served locally, and one headless Chromium. */
export interface Site {
  readonly browser: Browser;
  /** A fresh page of the site; `init` runs before the page's scripts (e.g. to replace the save picker). */
  open(init?: () => void): Promise<Page>;
  close(): Promise<void>;
}

/** Serves the built site and launches Chromium. */
export async function startSite(): Promise<Site> {
  const server = await serveStatic(SITE_DIR);
  const browser = await launchChromium();
  return {
    browser,
    async open(init) {
      const context = await browser.newContext({
        acceptDownloads: true,
        viewport: { width: 1280, height: 860 },
      });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      if (init !== undefined) await page.addInitScript(init);
      await page.goto(server.url);
      await page.waitForSelector("#adapter-files");
      (page as Page & { errors?: string[] }).errors = errors;
      return page;
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

/**
 * For a describe block: the site is started before its tests and closed after them, with a
 * temporary folder (`tmp`) removed afterwards.
 */
export function useSite(tag: string): { readonly site: Site; readonly tmp: string } {
  let site: Site | undefined;
  let tmp: string | undefined;
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), `lycoris-web-${tag}-`));
    site = await startSite();
  });
  afterAll(async () => {
    await site?.close();
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });
  return {
    get site() {
      return site!;
    },
    get tmp() {
      return tmp!;
    },
  };
}

/** Errors the page threw (none expected). */
export const pageErrors = (page: Page): string[] => (page as Page & { errors?: string[] }).errors ?? [];

/** Opens adapter files (or a folder, for the folder picker) and waits for the table. */
export async function openAdapter(
  page: Page,
  files: string | readonly string[],
  folder = false,
): Promise<void> {
  const input = folder ? "#adapter-folder" : "#adapter-files";
  await page.setInputFiles(input, typeof files === "string" ? files : [...files]);
  await page.waitForFunction(() => document.querySelector("#totals dd") !== null);
}

/** Opens a base model file. */
export async function openBase(page: Page, file: string): Promise<void> {
  await page.setInputFiles("#base-files", file);
}

/** One table row as the page shows it: the text of each cell and the exact numbers behind them. */
export interface ShownRow {
  readonly index: number;
  readonly module: string;
  readonly type: string;
  readonly factors: string;
  readonly values: Readonly<Record<string, number | null>>;
}

/** Every row of the table's current page. */
export function shownRows(page: Page): Promise<ShownRow[]> {
  return page.$$eval("#modules tbody tr", (trs) =>
    trs.map((tr) => {
      const cell = (col: string) => tr.querySelector<HTMLElement>(`td[data-col="${col}"]`);
      const values: Record<string, number | null> = {};
      for (const td of tr.querySelectorAll<HTMLElement>("td[data-value]")) {
        values[td.dataset.col!] = td.dataset.value === "" ? null : Number(td.dataset.value);
      }
      return {
        index: Number((tr as HTMLElement).dataset.index),
        module: cell("module")!.textContent!,
        type: cell("type")!.textContent!,
        factors: cell("factor shapes")!.textContent!,
        values,
      };
    }),
  );
}

/** The bytes of a download the page starts with `action`. */
export async function downloaded(
  page: Page,
  action: () => Promise<void>,
  count = 1,
): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const waits = new Promise<void>((resolve, reject) => {
    page.on("download", async (d) => {
      try {
        const path = await d.path();
        files.set(d.suggestedFilename(), readFileSync(path));
        if (files.size === count) resolve();
      } catch (error) {
        reject(error);
      }
    });
  });
  await action();
  await waits;
  return files;
}
