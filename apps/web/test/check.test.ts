import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Tensor } from "@lycoris-ts/kernels";
import { readSafetensorsSync, serializeSafetensors } from "@lycoris-ts/safetensors";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { LYCORIS_FIXTURES, PEFT_FIXTURES } from "../../../test-support/fixtures";
import { LAYOUT_FIXTURES } from "../../../test-support/layout-tolerance";
import {
  type ComparableTarget,
  fixtureTarget,
  keyMapTarget,
  layoutsExpected,
} from "../../../test-support/lycoris-layouts";
import { hasChromium } from "../../../test-support/run-in-chromium";
import { openAdapter, openBase, pageErrors, useSite } from "./support/site";

/** A copy of a safetensors file with tensors renamed / replaced. */
function rewrite(
  from: string,
  to: string,
  edit: (name: string, t: Tensor<Float32Array>) => [string, Tensor<Float32Array>],
): void {
  const { tensors } = readSafetensorsSync(from);
  const out = new Map([...tensors].map(([n, t]) => edit(n, t)));
  writeFileSync(to, serializeSafetensors(out));
}

async function tableText(page: Page, id: string): Promise<string[][]> {
  return page.$$eval(`#${id} tbody tr`, (trs) =>
    trs.map((tr) => [...tr.children].map((td) => td.textContent ?? "")),
  );
}

/** The key map the Check panel shows: module key → its targets (keys without a target left out). */
async function shownMapping(page: Page): Promise<Map<string, ComparableTarget[]>> {
  const rows = await page.$$eval("#key-map tbody tr[data-target]", (trs) =>
    trs.map((tr) => [(tr as HTMLElement).dataset.key!, (tr as HTMLElement).dataset.target!] as const),
  );
  const shown = new Map<string, ComparableTarget[]>();
  for (const [key, json] of rows) {
    const t = JSON.parse(json) as Parameters<typeof keyMapTarget>[1] & { kind: string | null };
    shown.set(key, [...(shown.get(key) ?? []), keyMapTarget(t.kind, t)]);
  }
  return shown;
}

describe.skipIf(!hasChromium())(
  "web page: check against a base (skipped when /usr/bin/chromium is absent)",
  () => {
    const ctx = useSite("check");

    it("PEFT: a module the base lacks is reported with the closest base name; a shape mismatch is named", async () => {
      const src = join(PEFT_FIXTURES, "lokr-linear-full");
      const dir = join(ctx.tmp, "peft");
      mkdirSync(dir);
      copyFileSync(join(src, "adapter/adapter_config.json"), join(dir, "adapter_config.json"));
      // q_proj renamed q_prj in the adapter: no such module in the base
      rewrite(
        join(src, "adapter/adapter_model.safetensors"),
        join(dir, "adapter_model.safetensors"),
        (n, t) => [n.replace(".q_proj.", ".q_prj."), t],
      );
      // v_proj's base weight made [24, 16]: the adapter's [16, 16] factors no longer fit
      const base = join(ctx.tmp, "base.safetensors");
      rewrite(join(src, "base.safetensors"), base, (n, t) =>
        n === "model.layers.0.self_attn.v_proj.weight"
          ? [n, { data: new Float32Array(24 * 16), shape: [24, 16] }]
          : [n, t],
      );
      const page = await ctx.site.open();
      await openBase(page, base);
      await openAdapter(page, [join(dir, "adapter_config.json"), join(dir, "adapter_model.safetensors")]);
      await page.click("#tab-check");
      await page.waitForSelector("#check-verdict");
      expect(await page.getAttribute("#check-verdict", "class")).toBe("bad");
      const unplaced = await tableText(page, "unplaced");
      expect(unplaced).toHaveLength(1);
      expect(unplaced[0]![0]).toBe("model.layers.0.self_attn.q_prj");
      expect(unplaced[0]![2]!.split(", ")[0]).toBe("model.layers.0.self_attn.q_proj");
      const errors = (await tableText(page, "checks")).filter((r) => r[0] === "error");
      const mismatch = errors.find((r) => r[2] === "model.layers.0.self_attn.v_proj");
      expect(mismatch?.[3]).toMatch(/shape mismatch: base weight \[24, 16\]/);
      expect(
        errors.some((r) => r[2] === "model.layers.0.self_attn.q_prj" && /not in the base model/.test(r[3]!)),
      ).toBe(true);
      expect(pageErrors(page)).toEqual([]);

      // the weights file alone (PEFT key names, no config): the keys are still checked
      const bare = await ctx.site.open();
      await openBase(bare, base);
      await openAdapter(bare, join(dir, "adapter_model.safetensors"));
      await bare.click("#tab-check");
      await bare.waitForSelector("#check-verdict");
      expect((await tableText(bare, "unplaced")).map((r) => r[0])).toEqual([
        "model.layers.0.self_attn.q_prj",
      ]);
      expect(await bare.getAttribute("#check-verdict", "class")).toBe("bad");
    });

    it("kohya: a key that names no base module is reported with the closest key (generic key map)", async () => {
      const src = join(LYCORIS_FIXTURES, "lokr-conv2d");
      const adapter = join(ctx.tmp, "renamed.safetensors");
      rewrite(join(src, "adapter.safetensors"), adapter, (n, t) => [
        n.replace("resnets_0_conv2.", "resnets_0_cnv2."),
        t,
      ]);
      const page = await ctx.site.open();
      await openBase(page, join(src, "base.safetensors"));
      await openAdapter(page, adapter);
      await page.click("#tab-check");
      await page.waitForSelector("#check-verdict");
      const unplaced = await tableText(page, "unplaced");
      expect(unplaced.map((r) => r[0])).toEqual(["lora_unet_down_blocks_0_resnets_0_cnv2"]);
      // the closest key in the file's own layout (the generic key map's), i.e. the name before the typo
      expect(unplaced[0]![2]!.split(", ")[0]).toBe("lora_unet_down_blocks_0_resnets_0_conv2");
      // the unchanged file fits its base
      const ok = await ctx.site.open();
      await openBase(ok, join(src, "base.safetensors"));
      await openAdapter(ok, join(src, "adapter.safetensors"));
      await ok.click("#tab-check");
      await ok.waitForSelector("#check-verdict");
      expect(await ok.getAttribute("#check-verdict", "class")).toBe("ok");
      expect(await tableText(ok, "unplaced")).toEqual([]);
      // files that are neither one checkpoint nor an index with its shards: said so, the adapter stays open
      await ok.setInputFiles("#base-files", [join(src, "base.safetensors"), join(src, "expected.json")]);
      await ok.waitForFunction(() =>
        /expected one \.safetensors checkpoint, or a sharded one's/.test(
          document.querySelector("#open-status")!.textContent!,
        ),
      );
      expect(await ok.locator("#modules tbody tr").count()).toBeGreaterThan(0);
    });

    // SDXL te2 q/v on rows of the fused in_proj_weight; SD1.5 keys ComfyUI does not load and a
    // conv_shortcut mapped onto a tensor the block lacks; Flux fused qkv rows and a diff_b on a slice
    // ComfyUI drops ("().bias")
    for (const name of ["sdxl-kohya-lokr", "sd15-kohya-lokr", "flux-lycoris-simpletuner"]) {
      it(`ComfyUI key map on ${name}: targets, row slices and not-loaded keys equal expected.json`, async () => {
        const caseDir = join(LAYOUT_FIXTURES, name);
        const page = await ctx.site.open();
        await openBase(page, join(caseDir, "base.safetensors"));
        await openAdapter(page, join(caseDir, "adapter.safetensors"));
        await page.click("#tab-check");
        await page.waitForSelector("#key-map");
        const expected = layoutsExpected(name);
        const shown = await shownMapping(page);
        expect([...shown.keys()].sort()).toEqual(Object.keys(expected.modules).sort());
        for (const [key, m] of Object.entries(expected.modules)) {
          expect(shown.get(key), key).toEqual(m.targets.map(fixtureTarget));
        }
        expect((await tableText(page, "not-loaded")).map((r) => r[0])).toEqual(expected.not_loaded);
        // the unplaced list is the key map's: every key whose tensors ComfyUI does not load
        const unplaced = new Set((await tableText(page, "unplaced")).map((r) => r[0]));
        for (const t of expected.not_loaded) expect(unplaced.has(t.slice(0, t.indexOf(".")))).toBe(true);
        expect(pageErrors(page)).toEqual([]);
      });
    }
  },
);
