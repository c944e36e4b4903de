import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { adapterConfigBehaviour } from "@lycoris-ts/lycoris-config";
import { readSafetensorsSync } from "@lycoris-ts/safetensors";
import { afterAll, describe, expect, it } from "vitest";
import { AdapterFilesError, convertAdapterToLora } from "../src/index";
import { directoryBlobs, PEFT, registry } from "./support/fixtures";

// PEFT's own convert_to_lora output (fixtures/peft-lora-conversion/FORMAT.md) for the adapters of fixtures/peft.
const CONVERSION = fileURLToPath(new URL("../../../fixtures/peft-lora-conversion/", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "adapter-files-to-lora-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const reg = registry();
const json = (path: string) => JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;

/** B·A (float64) from a saved LoRA file's linear factors. */
function product(
  weights: Map<string, { data: Float32Array; shape: readonly number[] }>,
  module: string,
): Float64Array {
  const a = weights.get(`base_model.model.${module}.lora_A.weight`)!;
  const b = weights.get(`base_model.model.${module}.lora_B.weight`)!;
  const [rows, k] = [b.shape[0]!, b.shape[1]!];
  const cols = a.shape[1]!;
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++)
    for (let t = 0; t < k; t++)
      for (let j = 0; j < cols; j++)
        out[i * cols + j] = out[i * cols + j]! + b.data[i * k + t]! * a.data[t * cols + j]!;
  return out;
}

describe("convertAdapterToLora: PEFT's convert_to_lora from an adapter's files", () => {
  for (const [name, rank, tag] of [
    ["lokr-linear-full", 2, "rank-2"],
    ["lokr-linear-lowrank-w2", 0.9, "rank-0.9"],
    ["loha-linear", 8, "rank-8"],
  ] as const) {
    it(`${name} at ${tag}: PEFT's ranks, B·A and saved config, from a path and from Blobs`, async () => {
      const want = join(CONVERSION, name, tag);
      const exp = json(join(want, "expected.json")) as {
        modules: Record<string, { effective_rank: number; truncation_well_conditioned: boolean }>;
      };
      const out = join(tmp, `${name}-${tag}`);
      const fromPath = await convertAdapterToLora(join(PEFT, name, "adapter"), {
        rank,
        registry: reg,
        peftCompatible: true,
        out,
      });
      const fromBlobs = await convertAdapterToLora(directoryBlobs(join(PEFT, name, "adapter")), {
        rank,
        registry: reg,
      });
      expect(Object.fromEntries(fromPath.layers.map((l) => [l.module, l.rank]))).toEqual(
        Object.fromEntries(Object.entries(exp.modules).map(([m, e]) => [m, e.effective_rank])),
      );
      expect([...fromBlobs.weights.keys()]).toEqual([...fromPath.weights.keys()]);
      for (const [k, t] of fromPath.weights) expect(fromBlobs.weights.get(k)!.data, k).toEqual(t.data);
      // The saved folder: PEFT's files (config fields, tensor names and shapes; B·A within FORMAT.md's 1e-4·(1+|ref|),
      // PEFT's float32 SVD vs ours in float64).
      expect(readdirSync(out).sort()).toEqual(["adapter_config.json", "adapter_model.safetensors"]);
      expect(adapterConfigBehaviour(json(join(out, "adapter_config.json")))).toEqual(
        adapterConfigBehaviour(json(join(want, "adapter_config.json"))),
      );
      const ours = readSafetensorsSync(join(out, "adapter_model.safetensors"));
      const peft = readSafetensorsSync(join(want, "adapter_model.safetensors"));
      expect(ours.metadata).toEqual({ format: "pt" });
      expect([...ours.tensors.keys()]).toEqual([...peft.tensors.keys()]);
      const refs = readSafetensorsSync(join(want, "expected.safetensors")).tensors;
      for (const [m, e] of Object.entries(exp.modules)) {
        expect(ours.tensors.get(`base_model.model.${m}.lora_A.weight`)!.shape).toEqual(
          peft.tensors.get(`base_model.model.${m}.lora_A.weight`)!.shape,
        );
        if (!e.truncation_well_conditioned) continue;
        const ba = product(ours.tensors, m);
        const ref = refs.get(`ba/${m}`)!.data;
        let worst = 0;
        for (let i = 0; i < ref.length; i++)
          worst = Math.max(worst, Math.abs(ba[i]! - ref[i]!) / (1 + Math.abs(ref[i]!)));
        expect(worst, m).toBeLessThanOrEqual(1e-4);
      }
    });
  }

  it("refuses a conv adapter with PEFT's TypeError text when peftCompatible, converts it otherwise", async () => {
    const dir = join(PEFT, "lokr-conv2d-full", "adapter");
    await expect(convertAdapterToLora(dir, { rank: 2, registry: reg, peftCompatible: true })).rejects.toThrow(
      "Some module types on this model do not support LoRA conversion: <class 'peft.tuners.lokr.layer.Conv2d'>.",
    );
    const lora = await convertAdapterToLora(dir, { rank: 2, registry: reg });
    const [layer] = lora.layers;
    expect(layer!.kind).toBe("conv2d");
    const a = lora.weights.get(`base_model.model.${layer!.module}.lora_A.weight`)!;
    const b = lora.weights.get(`base_model.model.${layer!.module}.lora_B.weight`)!;
    expect(a.shape).toEqual([2, ...layer!.weightShape.slice(1)]);
    expect(b.shape).toEqual([layer!.weightShape[0], 2, 1, 1]);
  });

  it("refuses to write into a directory that already holds an adapter, and a bare file", async () => {
    const src = join(PEFT, "lokr-linear-full", "adapter");
    await expect(convertAdapterToLora(src, { rank: 2, registry: reg, out: src })).rejects.toThrow(
      AdapterFilesError,
    );
    await expect(
      convertAdapterToLora(join(src, "adapter_model.safetensors"), { rank: 2, registry: reg }),
    ).rejects.toThrow(AdapterFilesError);
  });
});
