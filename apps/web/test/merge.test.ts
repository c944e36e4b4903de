import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type MergeWarning, mergeIntoBase, mergeKohyaFile } from "@lycoris-ts/adapter-files";
import { readSafetensorsSync, serializeSafetensors } from "@lycoris-ts/safetensors";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { LYCORIS_FIXTURES, PEFT_FIXTURES } from "../../../test-support/fixtures";
import { LAYOUT_FIXTURES, layoutExcess } from "../../../test-support/layout-tolerance";
import { hasChromium } from "../../../test-support/run-in-chromium";
import { createRegistry } from "../src/engine/create-registry";
import { downloaded, openAdapter, openBase, pageErrors, useSite } from "./support/site";

/**
 * The merged file against the fixture: every weight the fixture records as merged within
 * 1e-5·(1 + |expected|) (PEFT / ComfyUI computed it in float32 in their own operation order; ours
 * differs by float32 rounding of the products and the sum, far below this), every other tensor bit for
 * bit the base's, names and order the base's.
 */
function expectMerged(bytes: Buffer, caseDir: string, tmp: string): void {
  const path = join(tmp, `out-${Math.random().toString(36).slice(2)}.safetensors`);
  writeFileSync(path, bytes);
  const merged = readSafetensorsSync(path).tensors;
  const base = readSafetensorsSync(join(caseDir, "base.safetensors")).tensors;
  const expected = readSafetensorsSync(join(caseDir, "expected.safetensors")).tensors;
  expect([...merged.keys()]).toEqual([...base.keys()]);
  let checked = 0;
  for (const [name, b] of base) {
    const m = merged.get(name)!;
    const want = expected.get(`merged/${name}`);
    if (want === undefined) {
      expect(Buffer.from(m.data.buffer).equals(Buffer.from(b.data.buffer)), name).toBe(true);
      continue;
    }
    checked++;
    let worst = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < want.data.length; i++) {
      worst = Math.max(worst, Math.abs(m.data[i]! - want.data[i]!) - 1e-5 * (1 + Math.abs(want.data[i]!)));
    }
    expect(worst, name).toBeLessThanOrEqual(0);
  }
  expect(checked).toBeGreaterThan(0);
}

/**
 * ComfyUI's `merged/<strength>/<tensor>` of a lycoris-layouts case against the merged file, within
 * FORMAT.md's |a−e| ≤ 1e-5·max|e| + 1e-6 (ComfyUI's float32 against ours; a wrong strength or rule is
 * off by far more). Returns how many tensors were compared.
 */
function expectComfyMerged(bytes: Buffer, caseDir: string, strength: string, tmp: string): number {
  const path = join(tmp, `comfy-${Math.random().toString(36).slice(2)}.safetensors`);
  writeFileSync(path, bytes);
  const merged = readSafetensorsSync(path).tensors;
  const prefix = `merged/${strength}/`;
  let checked = 0;
  for (const [name, want] of readSafetensorsSync(join(caseDir, "expected.safetensors")).tensors) {
    if (!name.startsWith(prefix)) continue;
    const key = name.slice(prefix.length);
    expect(layoutExcess(merged.get(key)!.data, want.data), key).toBeLessThanOrEqual(0);
    checked++;
  }
  return checked;
}

/** Splits a checkpoint into 3 shards and a Hugging Face index in `dir`; returns the index, then the shards. */
function shardCheckpoint(file: string, dir: string): string[] {
  const { tensors, metadata } = readSafetensorsSync(file);
  const names = [...tensors.keys()];
  const shard = (i: number) => `model-0000${i + 1}-of-00003.safetensors`;
  const per = Math.ceil(names.length / 3);
  mkdirSync(dir);
  const weightMap: Record<string, string> = {};
  const paths = [0, 1, 2].map((i) => {
    const part = names.slice(i * per, (i + 1) * per);
    for (const n of part) weightMap[n] = shard(i);
    const path = join(dir, shard(i));
    writeFileSync(
      path,
      serializeSafetensors(new Map(part.map((n) => [n, tensors.get(n)!])), { metadata: metadata ?? {} }),
    );
    return path;
  });
  const index = join(dir, "model.safetensors.index.json");
  writeFileSync(index, JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
  return [index, ...paths];
}

/** Replaces the save picker by a file in the origin-private file system (a real FileSystemFileHandle). */
function opfsPicker(): void {
  (window as unknown as { showSaveFilePicker: unknown }).showSaveFilePicker = async () =>
    (await navigator.storage.getDirectory()).getFileHandle("merged.safetensors", { create: true });
}

/**
 * Replaces the save picker by a file whose writes wait until the test calls `releaseWrites()`;
 * `bytesWritten` counts what reached it, `aborted` tells whether the page aborted it.
 */
function gatedPicker(): void {
  const w = window as unknown as Record<string, unknown>;
  const gate = new Promise((resolve) => {
    w.releaseWrites = resolve;
  });
  w.bytesWritten = 0;
  w.aborted = false;
  w.showSaveFilePicker = async () => ({
    createWritable: async () =>
      new WritableStream<Uint8Array>({
        async write(chunk) {
          await gate;
          w.bytesWritten = (w.bytesWritten as number) + chunk.byteLength;
        },
        abort() {
          w.aborted = true;
        },
      }),
  });
}

/** Takes the save picker away: the merged model is built in memory and downloaded. */
function noPicker(): void {
  delete (window as unknown as { showSaveFilePicker?: unknown }).showSaveFilePicker;
}

const pageValue = <T>(page: Page, name: string): Promise<T> =>
  page.evaluate((n) => (window as unknown as Record<string, T>)[n]!, name);

async function opfsBytes(page: Page): Promise<Buffer> {
  const bytes = await page.evaluate(async () => {
    const handle = await (await navigator.storage.getDirectory()).getFileHandle("merged.safetensors");
    return [...new Uint8Array(await (await handle.getFile()).arrayBuffer())];
  });
  return Buffer.from(bytes);
}

async function openPeftCase(page: Page, caseDir: string): Promise<void> {
  await openBase(page, join(caseDir, "base.safetensors"));
  const dir = join(caseDir, "adapter");
  await openAdapter(page, [join(dir, "adapter_config.json"), join(dir, "adapter_model.safetensors")]);
}

describe.skipIf(!hasChromium())("web page: merge (skipped when /usr/bin/chromium is absent)", () => {
  const ctx = useSite("merge");

  it("streams a PEFT merge to the chosen file (File System Access API) with PEFT's merged weights", async () => {
    const caseDir = join(PEFT_FIXTURES, "lokr-linear-full");
    const page = await ctx.site.open(opfsPicker);
    await openPeftCase(page, caseDir);
    await page.click("#tab-merge");
    await page.click("#merge-run");
    await page.waitForSelector('#merge-status[data-state="done"]');
    expect(await page.getAttribute("#merge-progress", "value")).toBe(
      await page.getAttribute("#merge-progress", "max"),
    );
    expectMerged(await opfsBytes(page), caseDir, ctx.tmp);
    expect(pageErrors(page)).toEqual([]);
  });

  it("without the File System Access API: downloads a kohya merge equal to `lycoris merge` and ComfyUI's weights", async () => {
    const caseDir = join(LYCORIS_FIXTURES, "lokr-conv2d");
    const page = await ctx.site.open(noPicker);
    await openBase(page, join(caseDir, "base.safetensors"));
    await openAdapter(page, join(caseDir, "adapter.safetensors"));
    await page.click("#tab-merge");
    expect(await page.textContent("#merge-target")).toMatch(/downloaded/);
    const files = await downloaded(page, () => page.click("#merge-run"));
    const bytes = files.get("base-merged.safetensors")!;
    const cli = join(ctx.tmp, "cli-merged.safetensors");
    await mergeKohyaFile({
      base: join(caseDir, "base.safetensors"),
      adapter: join(caseDir, "adapter.safetensors"),
      out: cli,
      registry: createRegistry(),
    });
    expect(bytes.equals(readFileSync(cli))).toBe(true);
    expectMerged(bytes, caseDir, ctx.tmp);
  });

  it("stays responsive: typing in the filter updates the table while the merge is running", async () => {
    const caseDir = join(PEFT_FIXTURES, "lokr-many-targets");
    // the chosen file's writes wait for the test's go-ahead, so the merge is certainly still running
    const page = await ctx.site.open(gatedPicker);
    await openPeftCase(page, caseDir);
    const all = await page.$$eval("#modules tbody tr", (trs) => trs.length);
    await page.click("#tab-merge");
    await page.click("#merge-run");
    await page.waitForFunction(() =>
      /^merging: \d+ of \d+/.test(document.querySelector("#merge-status")!.textContent!),
    );
    await page.click("#tab-inspect");
    await page.fill("#filter", "q_proj");
    await page.waitForFunction(() =>
      /filtered from/.test(document.querySelector("#table-status")!.textContent!),
    );
    const shown = await page.$$eval("#modules tbody tr", (trs) => trs.map((tr) => tr.textContent!));
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.length).toBeLessThan(all);
    expect(shown.every((t) => t.includes("q_proj"))).toBe(true);
    // the input event was handled during the merge: it has not finished, nothing reached the file yet
    expect(await page.getAttribute("#merge-status", "data-state")).toBe("running");
    expect(await pageValue<number>(page, "bytesWritten")).toBe(0);
    await page.evaluate(() => (window as unknown as { releaseWrites: () => void }).releaseWrites());
    await page.waitForSelector('#merge-status[data-state="done"]', { state: "attached" });
    const written = await pageValue<number>(page, "bytesWritten");
    expect(written).toBeGreaterThan(readFileSync(join(caseDir, "base.safetensors")).length - 1024);
    expect(pageErrors(page)).toEqual([]);
  });

  it("cancel: the merge stops between tensors and the chosen file is aborted (nothing kept)", async () => {
    const page = await ctx.site.open(gatedPicker);
    await openPeftCase(page, join(PEFT_FIXTURES, "lokr-many-targets"));
    await page.click("#tab-merge");
    await page.click("#merge-run");
    await page.waitForFunction(() =>
      /^merging: \d+ of \d+/.test(document.querySelector("#merge-status")!.textContent!),
    );
    await page.click("#merge-cancel");
    await page.evaluate(() => (window as unknown as { releaseWrites: () => void }).releaseWrites());
    await page.waitForSelector('#merge-status[data-state="cancelled"]', { state: "attached" });
    expect(await page.textContent("#merge-status")).toBe("cancelled: nothing was written");
    expect(await pageValue<boolean>(page, "aborted")).toBe(true);
    expect(await page.isDisabled("#merge-cancel")).toBe(true);
  });

  it("merges two adapters at two strengths in one pass (= mergeIntoBase, ComfyUI's weights at 0.5), lists the keys not applied; strict refuses", async () => {
    // two SD1.5 kohya files on one SD1.5 checkpoint; they patch different tensors. The LoKr file has
    // keys ComfyUI does not load and a conv_shortcut the block lacks: warnings
    const dora = join(LAYOUT_FIXTURES, "sd15-kohya-dora");
    const lokr = join(LAYOUT_FIXTURES, "sd15-kohya-lokr");
    const page = await ctx.site.open(noPicker);
    await openBase(page, join(dora, "base.safetensors"));
    await openAdapter(page, join(dora, "adapter.safetensors"));
    await page.click("#tab-merge");
    await page.fill("#merge-strength", "0.5");
    await page.setInputFiles("#merge-add-files", join(lokr, "adapter.safetensors"));
    await page.fill("#merge-strength-1", "1.5");
    const files = await downloaded(page, () => page.click("#merge-run"));
    const bytes = files.get("base-merged.safetensors")!;

    const node = join(ctx.tmp, "two-adapters.safetensors");
    const s = await mergeIntoBase({
      base: join(dora, "base.safetensors"),
      adapters: [
        { input: join(dora, "adapter.safetensors"), strength: 0.5 },
        { input: join(lokr, "adapter.safetensors"), strength: 1.5 },
      ],
      out: node,
      registry: createRegistry(),
    });
    expect(bytes.equals(readFileSync(node))).toBe(true);
    // the DoRA file's tensors at 0.5 (the LoKr file patches others)
    expect(expectComfyMerged(bytes, dora, "0.5", ctx.tmp)).toBe(3);
    expect(await page.textContent("#merge-status")).toMatch(
      /at strength 0\.5 .* \+ adapter\.safetensors at strength 1\.5/,
    );
    const shown = await page.$$eval("#merge-warning-list tbody tr", (trs) =>
      trs.map((tr) => [tr.children[1]!.textContent!, tr.children[3]!.textContent!]),
    );
    const warningRow = (w: MergeWarning) => [w.moduleKey, w.tensors.join(", ")];
    expect(shown).toEqual(s.warnings.map(warningRow));
    expect(shown.length).toBeGreaterThan(0);

    // strict: refused before anything is written, the warnings still listed
    await page.check("#merge-strict");
    await page.click("#merge-run");
    await page.waitForSelector('#merge-status[data-state="failed"]', { state: "attached" });
    expect(await page.textContent("#merge-status")).toMatch(/strict merge: /);
    expect(await page.locator("#merge-warning-list tbody tr").count()).toBe(s.warnings.length);
    // a removed adapter is not merged: the DoRA file alone has nothing to warn about
    await page.click(".merge-remove");
    const alone = await downloaded(page, () => page.click("#merge-run"));
    await page.waitForSelector('#merge-status[data-state="done"]', { state: "attached" });
    expect(alone.get("base-merged.safetensors")!.equals(bytes)).toBe(false);
    expect(await page.locator("#merge-warning-list").count()).toBe(0);
    expect(pageErrors(page)).toEqual([]);
  });

  it("a sharded base (index + shards picked together): checked through the key map, merged into one file = mergeIntoBase on the index", async () => {
    const caseDir = join(LAYOUT_FIXTURES, "sd15-kohya-lokr");
    const files = shardCheckpoint(join(caseDir, "base.safetensors"), join(ctx.tmp, "sharded"));
    const page = await ctx.site.open(noPicker);
    await page.setInputFiles("#base-files", files);
    await openAdapter(page, join(caseDir, "adapter.safetensors"));
    expect(await page.textContent("#open-status")).toMatch(
      /base: model\.safetensors\.index\.json \(sharded: 3 shards; a merge writes one \.safetensors file\)/,
    );
    await page.click("#tab-check");
    await page.waitForSelector("#not-loaded");
    const notLoaded = await page.$$eval("#not-loaded tbody tr", (trs) => trs.map((tr) => tr.textContent));
    const expected = JSON.parse(readFileSync(join(caseDir, "expected.json"), "utf8")) as {
      not_loaded: string[];
    };
    expect(notLoaded).toEqual(expected.not_loaded);
    await page.click("#tab-merge");
    expect(await page.textContent("#merge-target")).toMatch(
      /one \.safetensors file, also for a sharded base/,
    );
    await page.fill("#merge-strength", "0.5");
    const got = await downloaded(page, () => page.click("#merge-run"));
    const bytes = got.get("model-merged.safetensors")!;
    const node = join(ctx.tmp, "sharded-merged.safetensors");
    await mergeIntoBase({
      base: files[0]!,
      adapters: [{ input: join(caseDir, "adapter.safetensors"), strength: 0.5 }],
      out: node,
      singleFile: true,
      registry: createRegistry(),
    });
    expect(bytes.equals(readFileSync(node))).toBe(true);
    expect(expectComfyMerged(bytes, caseDir, "0.5", ctx.tmp)).toBe(4);
    expect(pageErrors(page)).toEqual([]);
  });
});
