import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Tensor } from "@lycoris-ts/kernels";
import { serializeSafetensors } from "@lycoris-ts/safetensors";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "./support/run-cli";

// `lycoris inspect <file> --base <model>` on a generic model (module paths, no SD1.x / SDXL / Flux key map):
// the mapping, the key it could not place with the closest base name, totals. Names and counts only.

const tmp = mkdtempSync(join(tmpdir(), "cli-inspect-generic-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const zeros = (shape: number[]): Tensor<Float32Array> => ({
  data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
  shape,
});
const L = "model.layers.0";
const K = "lycoris_model_layers_0";
const basePath = join(tmp, "base.safetensors");
const adapterPath = join(tmp, "adapter.safetensors");
writeFileSync(
  basePath,
  serializeSafetensors({
    [`${L}.self_attn.q_proj.weight`]: zeros([4, 4]),
    [`${L}.self_attn.k_proj.weight`]: zeros([4, 4]),
    [`${L}.mlp.down_proj.weight`]: zeros([4, 4]),
    [`${L}.mlp.down_proj.bias`]: zeros([4]),
  }),
);
writeFileSync(
  adapterPath,
  serializeSafetensors({
    [`${K}_self_attn_q_proj.lora_down.weight`]: zeros([2, 4]),
    [`${K}_self_attn_q_proj.lora_up.weight`]: zeros([4, 2]),
    [`${K}_self_attn_k_prj.lora_down.weight`]: zeros([2, 4]),
    [`${K}_self_attn_k_prj.lora_up.weight`]: zeros([4, 2]),
    [`${K}_mlp_down_proj.diff_b`]: zeros([4]),
  }),
);

interface PlacementJson {
  family: string;
  entries: Array<{
    moduleKey: string;
    status: string;
    targets: Array<{ part: string; tensor: string | null; applied: boolean }>;
    closest: Array<{ key: string; tensor: string }>;
  }>;
  totals: { moduleKeys: number; placed: number; notApplied: number; notPlaced: number };
}

describe("lycoris inspect --base on a generic model", () => {
  it("--json: the mapping and the key it could not place", () => {
    const run = runCli(["inspect", adapterPath, "--base", basePath, "--json"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const p = JSON.parse(run.stdout) as PlacementJson;
    expect(p.family).toBe("generic");
    const by = Object.fromEntries(p.entries.map((e) => [e.moduleKey, e]));
    expect(by[`${K}_self_attn_q_proj`]!.targets).toEqual([
      expect.objectContaining({ part: "weight", tensor: `${L}.self_attn.q_proj.weight`, applied: true }),
    ]);
    expect(by[`${K}_mlp_down_proj`]!.targets).toEqual([
      expect.objectContaining({ part: "bias", tensor: `${L}.mlp.down_proj.bias`, applied: true }),
    ]);
    const typo = by[`${K}_self_attn_k_prj`]!;
    expect(typo.status).toBe("no_such_module");
    expect(typo.closest[0]).toEqual(
      expect.objectContaining({ key: `${K}_self_attn_k_proj`, tensor: `${L}.self_attn.k_proj.weight` }),
    );
    expect(p.totals).toEqual(
      expect.objectContaining({ moduleKeys: 3, placed: 2, notApplied: 0, notPlaced: 1 }),
    );
  });

  it("text: the mapping rows, the key not placed with its closest name, the totals", () => {
    const run = runCli(["inspect", adapterPath, "--base", basePath]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const out = run.stdout.split("\n");
    expect(out[0]).toContain("generic model");
    const row = (key: string, ...cells: string[]) =>
      out.find((l) => l.trim().split(/\s+/)[0] === key && cells.every((c) => l.includes(c)));
    expect(
      row(`${K}_self_attn_q_proj`, "lora", "weight", `${L}.self_attn.q_proj.weight`, "applied"),
    ).toBeDefined();
    expect(row(`${K}_mlp_down_proj`, "diff", "bias", `${L}.mlp.down_proj.bias`, "applied")).toBeDefined();
    const at = out.indexOf("not placed (1 module key):");
    expect(at).toBeGreaterThan(0);
    expect(out[at + 1]).toContain(`${K}_self_attn_k_prj`);
    expect(out[at + 2]).toContain(`closest: ${K}_self_attn_k_proj (${L}.self_attn.k_proj.weight)`);
    expect(out).toContain(
      "3 module keys: 2 placed, 0 mapped but not applied, 1 not placed; 5 tensors, 2 not loaded",
    );
  });
});
