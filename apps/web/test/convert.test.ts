import { readFileSync } from "node:fs";
import { join } from "node:path";
import { convertAdapterToLora, convertKohyaToPeft, convertPeftToKohya } from "@lycoris-ts/adapter-files";
import { describe, expect, it } from "vitest";
import { LYCORIS_FIXTURES, PEFT_FIXTURES } from "../../../test-support/fixtures";
import { hasChromium } from "../../../test-support/run-in-chromium";
import { createRegistry } from "../src/engine/create-registry";
import { downloaded, openAdapter, openBase, pageErrors, useSite } from "./support/site";

describe.skipIf(!hasChromium())("web page: convert (skipped when /usr/bin/chromium is absent)", () => {
  const ctx = useSite("convert");

  it("PEFT → kohya: the downloaded file is byte for byte what `lycoris convert` writes", async () => {
    const dir = join(PEFT_FIXTURES, "lokr-conv2d-lowrank", "adapter");
    const page = await ctx.site.open();
    await openAdapter(page, [join(dir, "adapter_config.json"), join(dir, "adapter_model.safetensors")]);
    await page.click("#tab-convert");
    const files = await downloaded(page, () => page.click("#convert-run"));
    const cli = join(ctx.tmp, "cli.safetensors");
    await convertPeftToKohya({ adapter: dir, out: cli, registry: createRegistry() });
    expect([...files.keys()]).toEqual(["adapter-lycoris.safetensors"]);
    expect(files.get("adapter-lycoris.safetensors")!.equals(readFileSync(cli))).toBe(true);
    expect(await page.textContent("#convert-status")).toMatch(/^converted: /);
    expect(pageErrors(page)).toEqual([]);
  });

  it("kohya → PEFT (with the base): both downloaded files equal what `lycoris convert --to peft` writes", async () => {
    const src = join(LYCORIS_FIXTURES, "lokr-conv2d");
    const page = await ctx.site.open();
    await openBase(page, join(src, "base.safetensors"));
    await openAdapter(page, join(src, "adapter.safetensors"));
    await page.click("#tab-convert");
    const files = await downloaded(page, () => page.click("#convert-run"), 2);
    const out = join(ctx.tmp, "peft");
    await convertKohyaToPeft({
      adapter: join(src, "adapter.safetensors"),
      base: join(src, "base.safetensors"),
      out,
      registry: createRegistry(),
    });
    for (const name of ["adapter_config.json", "adapter_model.safetensors"]) {
      expect(files.get(name)?.equals(readFileSync(join(out, name))), name).toBe(true);
    }
  });

  it("LoKr → LoRA at a rank: both downloaded files equal what `lycoris convert --to lora` writes", async () => {
    const dir = join(PEFT_FIXTURES, "lokr-linear-full", "adapter");
    const page = await ctx.site.open();
    await openAdapter(page, [join(dir, "adapter_config.json"), join(dir, "adapter_model.safetensors")]);
    await page.click("#tab-convert");
    await page.selectOption("#to-lora-mode", "rank");
    await page.fill("#to-lora-value", "2");
    const files = await downloaded(page, () => page.click("#to-lora-run"), 2);
    const out = join(ctx.tmp, "lora");
    const c = await convertAdapterToLora(dir, { rank: { rank: 2 }, out, registry: createRegistry() });
    for (const name of ["adapter_config.json", "adapter_model.safetensors"]) {
      expect(files.get(name)?.equals(readFileSync(join(out, name))), name).toBe(true);
    }
    // the per-layer report: every layer at rank 2
    const ranks = await page.$$eval("#to-lora-layers tbody tr td:nth-child(3)", (tds) =>
      tds.map((td) => td.textContent),
    );
    expect(ranks).toEqual(c.layers.map(() => "2"));
    // an energy threshold is a different request: the library's rule picks the ranks
    await page.selectOption("#to-lora-mode", "threshold");
    await page.fill("#to-lora-value", "0.9");
    const byEnergy = await downloaded(page, () => page.click("#to-lora-run"), 2);
    const out9 = join(ctx.tmp, "lora-0.9");
    await convertAdapterToLora(dir, { rank: { threshold: 0.9 }, out: out9, registry: createRegistry() });
    expect(
      byEnergy
        .get("adapter_model.safetensors")
        ?.equals(readFileSync(join(out9, "adapter_model.safetensors"))),
    ).toBe(true);
    expect(pageErrors(page)).toEqual([]);
  });
});
