import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Tensor } from "@lycoris-ts/kernels";
import { serializeSafetensors } from "@lycoris-ts/safetensors";
import { afterAll, describe, expect, it } from "vitest";
import { inspectPlacement } from "../src/index";
import { registry } from "./support/fixtures";

// inspectPlacement on a generic base (Llama-shaped module paths, no SD1.x / SDXL / Flux key map): every
// module key is placed on `<module>.weight` (+ `.bias` for diff_b) through the kohya prefix or the dotted
// module path, or reported with the reason and the closest base names written in the key's own layout.
// Names and counts only: no tolerance.

const tmp = mkdtempSync(join(tmpdir(), "adapter-files-inspect-generic-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const zeros = (shape: number[]): Tensor<Float32Array> => ({
  data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
  shape,
});
const L = "model.layers.0";
const base = {
  [`${L}.self_attn.q_proj.weight`]: zeros([4, 4]),
  [`${L}.self_attn.k_proj.weight`]: zeros([4, 4]),
  [`${L}.self_attn.v_proj.weight`]: zeros([4, 4]),
  [`${L}.mlp.down_proj.weight`]: zeros([4, 4]),
  [`${L}.mlp.down_proj.bias`]: zeros([4]),
  [`${L}.mlp.up_proj.weight`]: zeros([4, 4]),
  "model.norm.weight": zeros([4]),
};
const K = "lycoris_model_layers_0";
const adapter = {
  [`${K}_self_attn_q_proj.lora_down.weight`]: zeros([2, 4]),
  [`${K}_self_attn_q_proj.lora_up.weight`]: zeros([4, 2]),
  [`${K}_self_attn_q_proj.alpha`]: zeros([]),
  // typo: k_prj for k_proj
  [`${K}_self_attn_k_prj.lora_down.weight`]: zeros([2, 4]),
  [`${K}_self_attn_k_prj.lora_up.weight`]: zeros([4, 2]),
  [`${K}_mlp_down_proj.diff`]: zeros([4, 4]),
  [`${K}_mlp_down_proj.diff_b`]: zeros([4]),
  // v_proj has no bias in the base
  [`${K}_self_attn_v_proj.diff_b`]: zeros([4]),
  // a dotted module path (diffusers / PEFT names) with a tensor the loaders do not read
  [`${L}.mlp.up_proj.lora_A.weight`]: zeros([2, 4]),
  [`${L}.mlp.up_proj.lora_B.weight`]: zeros([4, 2]),
  [`${L}.mlp.up_proj.lora_magnitude_vector`]: zeros([4]),
  // names q_proj a second time
  [`${L}.self_attn.q_proj.lora_A.weight`]: zeros([2, 4]),
  [`${L}.self_attn.q_proj.lora_B.weight`]: zeros([4, 2]),
  "model.norm.scale_factor": zeros([]),
};
const basePath = join(tmp, "base.safetensors");
const adapterPath = join(tmp, "adapter.safetensors");
writeFileSync(basePath, serializeSafetensors(base));
writeFileSync(adapterPath, serializeSafetensors(adapter));

describe("inspectPlacement on a generic base", async () => {
  const r = await inspectPlacement(adapterPath, basePath, { registry: registry() });
  const byKey = new Map(r.entries.map((e) => [e.moduleKey, e]));
  const whole = (tensor: string, part: "weight" | "bias", applied = true) => ({
    part,
    comfyKey: tensor,
    comfyOffset: null,
    function: null,
    tensor: applied ? tensor : null,
    slice: null,
    applied,
  });

  it("is a generic key map with one entry per module key", () => {
    expect(r.family).toBe("generic");
    expect(r.components).toEqual([]);
    expect(r.entries.map((e) => e.moduleKey).sort()).toEqual(
      [
        `${K}_self_attn_q_proj`,
        `${K}_self_attn_k_prj`,
        `${K}_mlp_down_proj`,
        `${K}_self_attn_v_proj`,
        `${L}.mlp.up_proj`,
        `${L}.self_attn.q_proj`,
        "model.norm.scale_factor",
      ].sort(),
    );
  });

  it("places a kohya LoRA key on <module>.weight", () => {
    const e = byKey.get(`${K}_self_attn_q_proj`)!;
    expect([e.status, e.layout, e.kind, e.message]).toEqual(["placed", "lycoris", "lora", null]);
    expect(e.targets).toEqual([whole(`${L}.self_attn.q_proj.weight`, "weight")]);
  });

  it("places .diff on the weight and .diff_b on the bias", () => {
    const e = byKey.get(`${K}_mlp_down_proj`)!;
    expect([e.status, e.kind, e.message]).toEqual(["placed", "diff", null]);
    expect(e.targets).toEqual([
      whole(`${L}.mlp.down_proj.weight`, "weight"),
      whole(`${L}.mlp.down_proj.bias`, "bias"),
    ]);
  });

  it("reports a diff_b whose module has no bias as mapped but not applied", () => {
    const e = byKey.get(`${K}_self_attn_v_proj`)!;
    expect(e.status).toBe("not_applied");
    expect(e.targets).toEqual([whole(`${L}.self_attn.v_proj.bias`, "bias", false)]);
    expect(e.message).toContain(`${L}.self_attn.v_proj.bias`);
    expect(r.notApplied).toEqual(e.targets);
  });

  it("reports a typo'd key with the resolver's reason and the closest base name in its layout", () => {
    const e = byKey.get(`${K}_self_attn_k_prj`)!;
    expect([e.status, e.layout, e.targets]).toEqual(["no_such_module", "lycoris", []]);
    expect(e.message).toContain("names no module of the model");
    expect(e.closest[0]).toEqual({
      key: `${K}_self_attn_k_proj`,
      tensor: `${L}.self_attn.k_proj.weight`,
      slice: null,
    });
    expect(e.closest.length).toBe(3);
    expect(e.unread).toEqual(e.tensors);
  });

  it("places a dotted module path, listing the tensor the loaders do not read", () => {
    const e = byKey.get(`${L}.mlp.up_proj`)!;
    expect([e.status, e.layout, e.kind]).toEqual(["placed", "none", "lora"]);
    expect(e.targets).toEqual([whole(`${L}.mlp.up_proj.weight`, "weight")]);
    expect(e.unread).toEqual([`${L}.mlp.up_proj.lora_magnitude_vector`]);
  });

  it("reports a second key for the same module as ambiguous, and a name with no adapter suffix", () => {
    const a = byKey.get(`${L}.self_attn.q_proj`)!;
    expect([a.status, a.targets]).toEqual(["ambiguous", []]);
    expect(a.message).toContain(`${K}_self_attn_q_proj`);
    const u = byKey.get("model.norm.scale_factor")!;
    expect([u.status, u.layout]).toEqual(["unknown_layout", null]);
  });

  it("counts", () => {
    expect(r.totals).toEqual({
      moduleKeys: 7,
      placed: 3,
      notApplied: 1,
      notPlaced: 3,
      tensors: Object.keys(adapter).length,
      notLoaded: 2 + 1 + 2 + 1,
    });
  });
});
