import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type InspectReport, inspectAdapters } from "@lycoris-ts/adapter-files";
import { readSafetensorsSync, serializeSafetensors } from "@lycoris-ts/safetensors";
import { describe, expect, it } from "vitest";
import { LYCORIS_FIXTURES, PEFT_FIXTURES } from "../../../test-support/fixtures";
import { hasChromium } from "../../../test-support/run-in-chromium";
import { createRegistry } from "../src/engine/create-registry";
import { PAGE_SIZE } from "../src/page/module-table";
import { openAdapter, pageErrors, shownRows, useSite } from "./support/site";

const SCREENSHOT = fileURLToPath(new URL("../../../docs/web-screenshot.png", import.meta.url));
const shape = (s: readonly number[]) => `[${s.join(", ")}]`;

/** The table must show exactly what `lycoris inspect --json` reports (the same library call). */
function expectTableEqualsReport(rows: Awaited<ReturnType<typeof shownRows>>, report: InspectReport): void {
  const modules = report.adapters.flatMap((a) => a.modules);
  expect(rows.map((r) => r.module)).toEqual(modules.map((m) => m.module));
  rows.forEach((row, i) => {
    const m = modules[i]!;
    expect(row.index).toBe(i);
    expect(row.type).toBe(m.peftType ?? "unknown");
    expect(row.factors).toBe(m.params.map((p) => `${p.name} ${shape(p.shape)}`).join(", "));
    expect(row.values.r, m.module).toBe(m.r);
    expect(row.values.alpha, m.module).toBe(m.alpha);
    expect(row.values.scaling, m.module).toBe(m.scaling);
    expect(row.values.params, m.module).toBe(m.numParams);
  });
}

async function totals(page: import("playwright-core").Page): Promise<Record<string, string>> {
  return page.$$eval("#totals dd", (dds) =>
    Object.fromEntries(dds.map((d) => [(d as HTMLElement).dataset.total!, d.textContent!])),
  );
}

const count = (text: string | undefined) => Number(text?.replaceAll(",", ""));

describe.skipIf(!hasChromium())(
  "web page: inspect and look (skipped when /usr/bin/chromium is absent)",
  () => {
    const ctx = useSite("inspect");

    it("a PEFT adapter folder's table equals inspect --json; ‖ΔW‖F equals PEFT's ΔW's norm", async () => {
      const dir = join(PEFT_FIXTURES, "lokr-rank-alpha-pattern");
      const page = await ctx.site.open();
      await openAdapter(page, [
        join(dir, "adapter/adapter_config.json"),
        join(dir, "adapter/adapter_model.safetensors"),
      ]);
      const report = await inspectAdapters(join(dir, "adapter"), createRegistry());
      expectTableEqualsReport(await shownRows(page), report);
      const t = await totals(page);
      expect(t.format).toBe(report.format);
      expect(count(t.modules)).toBe(report.totals.modules);
      expect(count(t.parameters)).toBe(report.totals.parameters);

      // ‖ΔW‖F from the structured singular values vs PEFT's materialised float32 ΔW, summed in float64 here.
      // Tolerance 1e-5 relative: PEFT's ΔW carries float32 rounding (~1e-7 per element), the structured SVD
      // runs in float64 on float32 factors; both are far inside 1e-5 of the norm.
      await page.waitForFunction(() =>
        [...document.querySelectorAll<HTMLElement>('#modules td[data-col="norm"]')].every(
          (td) => td.dataset.value !== "",
        ),
      );
      const expected = readSafetensorsSync(join(dir, "expected.safetensors")).tensors;
      for (const row of await shownRows(page)) {
        const delta = expected.get(`delta/default/${row.module}`)!;
        let s = 0;
        for (const v of delta.data) s += v * v;
        const want = Math.sqrt(s);
        expect(Math.abs(row.values.norm! - want) / want, row.module).toBeLessThanOrEqual(1e-5);
      }

      // a module's spectrum: its rank and energy marks are shown
      await page.click('#modules tbody tr:first-child td[data-col="module"] button');
      await page.waitForFunction(() =>
        /rank \d+/.test(document.querySelector("#spectrum-summary")?.textContent ?? ""),
      );
      expect(await page.isVisible("#panel-look")).toBe(true);
      expect(await page.locator("#spectrum-chart canvas").count()).toBe(1);
      expect(pageErrors(page)).toEqual([]);
    });

    it("a kohya / LyCORIS file's table equals inspect --json (alpha tensors, Tucker cores)", async () => {
      const file = join(LYCORIS_FIXTURES, "loha-conv2d-tucker", "adapter.safetensors");
      const page = await ctx.site.open();
      await openAdapter(page, file);
      const report = await inspectAdapters(file, createRegistry());
      expect(report.format).toBe("kohya-safetensors");
      expectTableEqualsReport(await shownRows(page), report);
      expect(pageErrors(page)).toEqual([]);
    });

    it("a folder with several adapters (sub-directories), opened with the folder picker", async () => {
      const dir = join(PEFT_FIXTURES, "lokr-multi-adapter", "adapter");
      const page = await ctx.site.open();
      await openAdapter(page, dir, true);
      const report = await inspectAdapters(dir, createRegistry());
      expect(report.adapters.length).toBeGreaterThan(1);
      expectTableEqualsReport(await shownRows(page), report);
    });

    it("thousands of modules: paged, filtered across every page, ‖ΔW‖ filled in for all", async () => {
      // a PEFT LoKr adapter of 3,000 modules with lokr-linear-full's config and factor shapes
      const src = join(PEFT_FIXTURES, "lokr-linear-full", "adapter");
      const dir = join(ctx.tmp, "big");
      mkdirSync(dir);
      copyFileSync(join(src, "adapter_config.json"), join(dir, "adapter_config.json"));
      const one = readSafetensorsSync(join(src, "adapter_model.safetensors")).tensors;
      const w1 = one.get("base_model.model.model.layers.0.self_attn.q_proj.lokr_w1")!;
      const w2 = one.get("base_model.model.model.layers.0.self_attn.q_proj.lokr_w2")!;
      const tensors = new Map<string, typeof w1>();
      const N = 3000;
      for (let i = 0; i < N; i++) {
        tensors.set(`base_model.model.model.layers.${i}.self_attn.q_proj.lokr_w1`, w1);
        tensors.set(`base_model.model.model.layers.${i}.self_attn.q_proj.lokr_w2`, w2);
      }
      writeFileSync(join(dir, "adapter_model.safetensors"), serializeSafetensors(tensors));
      const page = await ctx.site.open();
      await openAdapter(page, [join(dir, "adapter_config.json"), join(dir, "adapter_model.safetensors")]);
      expect(await page.textContent("#table-status")).toBe(`modules 1–${PAGE_SIZE} of ${N}`);
      expect(await page.locator("#modules tbody tr").count()).toBe(PAGE_SIZE);
      await page.click("#page-next");
      expect((await shownRows(page))[0]!.index).toBe(PAGE_SIZE);
      await page.fill("#filter", "layers.2999.");
      expect((await shownRows(page)).map((r) => r.module)).toEqual(["model.layers.2999.self_attn.q_proj"]);
      // every module has the same factors, hence the same norm, computed for all of them
      await page.waitForFunction(
        (n) => (document.querySelector("#depth-chart")?.getAttribute("data-norms") ?? "") === String(n),
        N,
      );
      const norms = new Set((await shownRows(page)).map((r) => r.values.norm));
      expect(norms.size).toBe(1);
      expect(pageErrors(page)).toEqual([]);
    });

    it("filters and sorts; saves the README screenshot", async () => {
      const dir = join(PEFT_FIXTURES, "lokr-many-targets", "adapter");
      const page = await ctx.site.open();
      await openAdapter(page, [join(dir, "adapter_config.json"), join(dir, "adapter_model.safetensors")]);
      const all = await shownRows(page);
      const report = await inspectAdapters(dir, createRegistry());
      // filter: the rows whose name holds the word, as the report lists them
      const word = report.adapters[0]!.modules[0]!.module.split(".").at(-1)!;
      await page.fill("#filter", word);
      const filtered = await shownRows(page);
      expect(filtered.map((r) => r.module)).toEqual(all.map((r) => r.module).filter((m) => m.includes(word)));
      await page.fill("#filter", "");
      // sort by parameters, descending (second click), by keyboard
      await page.focus('th[data-key="params"] button');
      await page.keyboard.press("Enter");
      await page.keyboard.press("Enter");
      const sorted = (await shownRows(page)).map((r) => r.values.params!);
      expect(sorted).toEqual([...sorted].sort((a, b) => b - a));
      expect(await page.getAttribute('th[data-key="params"]', "aria-sort")).toBe("descending");
      await page.waitForFunction(() =>
        [...document.querySelectorAll<HTMLElement>('#modules td[data-col="norm"]')].every(
          (td) => td.dataset.value !== "",
        ),
      );
      mkdirSync(join(SCREENSHOT, ".."), { recursive: true });
      await page.screenshot({ path: SCREENSHOT });
    });
  },
);
