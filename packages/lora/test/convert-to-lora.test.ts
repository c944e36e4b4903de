import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { conv2d, createRng, type Tensor } from "@lycoris-ts/kernels";
import type { LayerGeometry, LycorisLayer } from "@lycoris-ts/runtime";
import { readSafetensorsSync } from "@lycoris-ts/safetensors";
import { afterAll, describe, expect, it } from "vitest";
import {
  AdapterError,
  Conv2d,
  convertToLora,
  GPT2Conv1D,
  getPeftModel,
  initModuleParameters,
  Linear,
  LoraConfig,
  LoraError,
  loadPeftModel,
  loraForward,
  loraModuleTensors,
  type PeftModel,
  Sequential,
  saveLoraAdapter,
} from "../src/index";

const tmp = mkdtempSync(join(tmpdir(), "lora-convert-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** max over elements of |x − ref| / (1 + |ref|). */
function worst(x: ArrayLike<number>, ref: ArrayLike<number>): number {
  expect(x.length).toBe(ref.length);
  let w = 0;
  for (let i = 0; i < ref.length; i++) w = Math.max(w, Math.abs(x[i]! - ref[i]!) / (1 + Math.abs(ref[i]!)));
  return w;
}

function randomTensor(shape: readonly number[], seed: number): Tensor<Float32Array> {
  const rng = createRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: Float32Array.from({ length: n }, () => rng.normal()), shape: [...shape] };
}

/** A base of Linear, GPT-2 Conv1D and Conv2d layers (same seed → same weights) with a random LoRA of rank 4. */
function model(): Sequential {
  const m = new Sequential(new Linear(12, 10), new GPT2Conv1D(9, 10), new Conv2d(3, 6, 3, { padding: 1 }));
  initModuleParameters(m, createRng(7));
  return m;
}
function sourceLora(): PeftModel {
  const peft = getPeftModel(
    model(),
    new LoraConfig({ r: 4, loraAlpha: 8, targetModules: ["0", "1", "2"], initLoraWeights: false }),
    "default",
    { seed: 3, onWarning: null },
  );
  peft.eval();
  return peft;
}

const layerOf = (peft: PeftModel, m: string) => peft.model.getSubmodule(m) as LycorisLayer;

describe("convertToLora from a loaded model", () => {
  it("at the source's rank reproduces every ΔW, saved here and loaded back (Linear, GPT-2 Conv1D, Conv2d)", async () => {
    const src = sourceLora();
    const lora = convertToLora(src, { rank: 4 });
    expect(lora.warnings[0]).toContain("already a LoRA adapter");
    expect(lora.config.r).toBe(4);
    expect(lora.config.loraAlpha).toBe(4);
    expect(lora.config.rankPattern).toEqual({});
    expect([...(lora.config.targetModules as string[])].sort()).toEqual(["0", "1", "2"]);
    for (const l of lora.layers) expect(l.relativeError, l.module).toBeLessThan(1e-6); // rank-4 ΔW kept whole
    const dir = join(tmp, "rank-4");
    await saveLoraAdapter(dir, lora);
    const back = await loadPeftModel(model(), dir);
    // Tolerance 1e-5·(1 + |ref|): the rank-4 SVD of a rank-4 float32 ΔW, stored as float32 factors.
    for (const m of ["0", "1", "2"])
      expect(
        worst(
          layerOf(back, m).getDeltaWeight("default").data,
          layerOf(src, m).getDeltaWeight("default").data,
        ),
        m,
      ).toBeLessThanOrEqual(1e-5);
    const x = randomTensor([2, 3, 5, 5], 11);
    expect(
      worst(back.model.getSubmodule("2").forward(x).data, src.model.getSubmodule("2").forward(x).data),
    ).toBeLessThanOrEqual(1e-5);
    const config = JSON.parse(readFileSync(join(dir, "adapter_config.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(config.peft_type).toBe("LORA");
    expect(config.exclude_modules).toEqual([]);
    expect(readSafetensorsSync(join(dir, "adapter_model.safetensors")).metadata).toEqual({ format: "pt" });
  });

  it("puts the singular values on lora_A for a GPT-2 Conv1D, as PEFT returns Bᵀ / Aᵀ there", () => {
    const lora = convertToLora(sourceLora(), { rank: 2 });
    const b = lora.weights.get("base_model.model.1.lora_B.weight")!; // [nf, k]: orthonormal columns
    const [rows, k] = [b.shape[0]!, b.shape[1]!];
    for (let t = 0; t < k; t++) {
      let norm = 0;
      for (let i = 0; i < rows; i++) norm += b.data[i * k + t]! ** 2;
      expect(Math.abs(norm - 1)).toBeLessThan(1e-5);
    }
    const linearB = lora.weights.get("base_model.model.0.lora_B.weight")!; // Linear: U·S, not orthonormal
    expect(Math.abs(linearB.data.reduce((n, v, i) => (i % 2 === 0 ? n + v * v : n), 0) - 1)).toBeGreaterThan(
      1e-3,
    );
  });

  it("a threshold gives rank_pattern / alpha_pattern entries and r = lora_alpha = 1", () => {
    const lora = convertToLora(sourceLora(), { rank: 0.5 });
    expect([lora.config.r, lora.config.loraAlpha]).toEqual([1, 1]);
    expect(Object.keys(lora.config.rankPattern)).toEqual(["0", "1", "2"]);
    expect(lora.config.alphaPattern).toEqual(lora.config.rankPattern);
    for (const l of lora.layers) expect(lora.config.rankPattern[l.module]).toBe(l.r);
  });

  it("threshold 1.0 with rank-one deltas: k = 1 == 1.0, so the modules join target_modules (errors.json probe)", () => {
    const src = getPeftModel(
      model(),
      new LoraConfig({ r: 1, targetModules: ["0", "1"], initLoraWeights: false }),
      "default",
      { seed: 5, onWarning: null },
    );
    const lora = convertToLora(src, { rank: { threshold: 1 } });
    expect(lora.layers.map((l) => l.rank)).toEqual([1, 1]);
    expect(lora.config.rankPattern).toEqual({});
    expect([lora.config.r, lora.config.loraAlpha]).toEqual([1, 1]);
  });

  it("a model without adapter layers: PEFT's TypeError text (errors.json probe plain-model)", () => {
    const empty = {
      adapterName: "default",
      config: null,
      targetModules: null,
      layers: [],
      tunerLayers: [],
      modulesToSave: new Map(),
    };
    expect(() => convertToLora(empty, { rank: 2 })).toThrow(
      "Could not detect any layer that supports LoRA conversion.",
    );
  });

  it("raises PEFT's errors, and typed errors where PEFT's result is unusable", () => {
    const src = sourceLora();
    expect(() => convertToLora(src, { rank: 1.5 })).toThrow(
      "If rank is a float, it is interpreted as a threshold. It must be between 0 and 1 but got 1.5.",
    );
    expect(() => convertToLora(src, { rank: 0 })).toThrow("Passing a rank of 0 doesn't make sense");
    expect(() => convertToLora(src, { rank: 10 })).toThrow(
      "The chosen rank 10 is larger than the weight shape (9), please choose a lower rank.",
    );
    expect(() => convertToLora(src, { rank: 2, peftCompatible: true })).toThrow(
      "Some module types on this model do not support LoRA conversion: <class 'peft.tuners.lora.layer.Conv2d'>.",
    );
    const negative = (() => {
      try {
        convertToLora(src, { rank: -1 });
      } catch (e) {
        return e;
      }
    })();
    expect(negative).toBeInstanceOf(AdapterError);
    expect((negative as AdapterError).kind).toBe("invalid_rank");
    expect(() => convertToLora(src, { rank: 2, adapterName: "nope" })).toThrow(LoraError);
    src.addAdapter("other", new LoraConfig({ r: 2, targetModules: ["0"] }));
    const missing = (() => {
      try {
        convertToLora(src, { rank: 2, adapterName: "other" });
      } catch (e) {
        return e;
      }
    })();
    expect(missing).toBeInstanceOf(LoraError);
    expect((missing as LoraError).kind).toBe("conversion_missing_adapter");
    expect((missing as LoraError).message).toContain("missing on 1, 2");
  });
});

describe("loraModuleTensors on a grouped conv", () => {
  it("lays out B·A so that PEFT's LoRA (dense lora_A, grouped 1×1 lora_B) is conv(x, B·A) with the base's groups", () => {
    const [out, inG, g, k] = [6, 2, 3, 2];
    const kernel = [3, 3];
    const layer: LayerGeometry = {
      kind: "conv2d",
      outFeatures: out,
      inFeatures: inG,
      kernelSize: kernel,
      groups: g,
      weightShape: [out, inG, ...kernel],
      conv: { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: g, paddingMode: "zeros" },
    };
    const b = randomTensor([out, k], 1);
    const a = randomTensor([k, inG * 9], 2);
    const t = loraModuleTensors("c", layer, b, a);
    expect(t.r).toBe(g * k);
    const params = Object.fromEntries(
      t.entries.map(([key, v]) => [key.slice("base_model.model.c.".length), v]),
    );
    expect(params["lora_A.weight"]!.shape).toEqual([g * k, inG * g, 3, 3]);
    expect(params["lora_B.weight"]!.shape).toEqual([out, k, 1, 1]);
    const x = randomTensor([2, inG * g, 5, 5], 3);
    const shape = {
      kind: "conv2d" as const,
      outFeatures: out,
      inFeatures: inG * g,
      kernelSize: kernel,
      groups: g,
    };
    const y = loraForward(x, params, shape, 1, layer.conv!);
    // Reference: one grouped conv with the flattened product W = B·A as its [out, in/groups, 3, 3] weight.
    const w = new Float32Array(out * inG * 9);
    for (let o = 0; o < out; o++)
      for (let j = 0; j < inG * 9; j++) {
        let acc = 0;
        for (let s = 0; s < k; s++) acc += b.data[o * k + s]! * a.data[s * inG * 9 + j]!;
        w[o * inG * 9 + j] = acc;
      }
    const ref = conv2d(x, { data: w, shape: [out, inG, 3, 3] }, null, layer.conv!);
    // float32 sums of ≤ 54 products in two orders: 1e-5·(1 + |ref|).
    expect(worst(y.data, ref.data)).toBeLessThanOrEqual(1e-5);
  });
});
