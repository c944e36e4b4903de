import { createRng, normalTensor, type Tensor, tensor } from "@lycoris-ts/kernels";
import { LycorisConfigError } from "@lycoris-ts/lycoris-config";
import { Container } from "@lycoris-ts/runtime";
import { describe, expect, it } from "vitest";
import {
  AdamW,
  Conv2d,
  Embedding,
  GPT2Conv1D,
  getPeftModel,
  initModuleParameters,
  LayerNorm,
  Linear,
  LoraConfig,
  LoraError,
  LycorisLayer,
  type Module,
  Sequential,
} from "../src/index";

function ids(shape: number[], n: number, seed: number): Tensor<Float32Array> {
  const rng = createRng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tensor(
    Float32Array.from({ length: size }, () => Math.floor(rng.uniform() * n)),
    shape,
  );
}

/** Embedding(12, 6) → Linear(6, 5) → GPT-2 Conv1D(nx 5, nf 4), with torch's default init. */
function chain(seed = 1): Module {
  const m = new Sequential(new Embedding(12, 6), new Linear(6, 5), new GPT2Conv1D(4, 5));
  initModuleParameters(m, createRng(seed));
  return m;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe("LoRA on a model", () => {
  it("names and freezes parameters as PEFT (lora_A.<adapter>.weight, lora_embedding_A.<adapter>)", () => {
    const peft = getPeftModel(chain(), new LoraConfig({ r: 2, targetModules: ["0", "1", "2"] }), "default", {
      onWarning: null,
    });
    const trainable = [...peft.model.namedParameters()].filter(([, p]) => p.requiresGrad).map(([n]) => n);
    expect(trainable).toEqual([
      "0.lora_embedding_A.default",
      "0.lora_embedding_B.default",
      "1.lora_A.default.weight",
      "1.lora_B.default.weight",
      "2.lora_A.default.weight",
      "2.lora_B.default.weight",
    ]);
    // LoRA: 2·12 + 6·2 (embedding) + 2·6 + 5·2 (linear) + 2·5 + 4·2 (Conv1D) = 76;
    // base: 12·6 + (6·5 + 5) + (5·4 + 4) = 131; 76 / 207 = 36.7150 %.
    expect(peft.printTrainableParameters(null)).toBe(
      "trainable params: 76 || all params: 207 || trainable%: 36.7150",
    );
  });

  it("trains: AdamW on the LoRA parameters fits a target the base model misses", () => {
    // The target comes from the same architecture with other weights; a wrong gradient (sign, transpose,
    // missing scaling) makes the loss grow or stall instead of dropping by 4x.
    const x = ids([8, 3], 12, 2);
    const target = chain(99).forward(x);
    const peft = getPeftModel(
      chain(),
      new LoraConfig({ r: 4, loraAlpha: 8, targetModules: ["0", "1", "2"] }),
    );
    peft.train();
    const opt = new AdamW(
      [...peft.model.parameters()].filter((p) => p.requiresGrad),
      { lr: 0.02, weightDecay: 0 },
    );
    const mse = () => {
      const y = peft.forward(x);
      const d = y.data.map((v, i) => v - target.data[i]!);
      return {
        loss: d.reduce((a, v) => a + v * v, 0) / d.length,
        dy: tensor(
          d.map((v) => (2 * v) / d.length),
          y.shape,
        ),
      };
    };
    const first = mse().loss;
    for (let step = 0; step < 150; step++) {
      peft.model.zeroGrad();
      peft.backward(mse().dy);
      opt.step();
    }
    expect(mse().loss).toBeLessThan(first / 4);
  });

  it("applies lora_dropout to the adapter path's input in training only", () => {
    const x = normalTensor([4, 6], createRng(3), 1);
    const make = (loraDropout: number) => {
      const base = new Sequential(new Linear(6, 5));
      initModuleParameters(base, createRng(4));
      return getPeftModel(
        base,
        new LoraConfig({ r: 3, loraDropout, initLoraWeights: false, targetModules: ["0"] }),
        "default",
        { seed: 5 },
      );
    };
    const all = make(1);
    const baseY = (all.model.getSubmodule("0") as LycorisLayer).baseLayer.forward(x);
    all.train();
    const y = all.forward(x);
    // p = 1 drops every input: exactly the base output, and no gradient for A or B.
    expect(maxAbsDiff(y.data, baseY.data)).toBe(0);
    all.backward(tensor(new Float32Array(y.data.length).fill(1), y.shape));
    for (const p of (all.model.getSubmodule("0") as LycorisLayer).parametersOf("default").values()) {
      expect(p.grad?.data.every((v) => v === 0) ?? true).toBe(true);
    }
    // p = 0.3: each training pass differs from eval, their mean converges to eval (1/(1−p) rescaling).
    const some = make(0.3);
    some.eval();
    const evalTerm = some.forward(x).data.map((v, i) => v - baseY.data[i]!);
    some.train();
    const n = 400;
    const mean = new Float64Array(evalTerm.length);
    for (let k = 0; k < n; k++) {
      const t = some.forward(x).data;
      if (k === 0)
        expect(
          maxAbsDiff(
            t,
            baseY.data.map((v, i) => v + evalTerm[i]!),
          ),
        ).toBeGreaterThan(1e-3);
      for (let i = 0; i < t.length; i++) mean[i]! += (t[i]! - baseY.data[i]!) / n;
    }
    // Per element the dropped sum has a relative sd of about √(p/(1−p)) ≈ 0.65 per pass, 0.033 for the
    // mean of 400; 0.15 of the term's norm is more than 4 standard errors.
    const norm = Math.sqrt(evalTerm.reduce((a, v) => a + v * v, 0));
    const err = Math.sqrt(mean.reduce((a, v, i) => a + (v - evalTerm[i]!) ** 2, 0));
    expect(err / norm).toBeLessThan(0.15);
  });

  it("merges and unmerges Embedding, Linear, GPT-2 Conv1D and Conv2d adapters", () => {
    const model = new Container({
      emb: new Embedding(9, 4),
      lin: new Linear(4, 3),
      c_fc: new GPT2Conv1D(5, 4),
      conv: new Conv2d(2, 3, 3, { padding: 1, stride: 2 }),
    });
    initModuleParameters(model, createRng(6));
    const peft = getPeftModel(
      model,
      new LoraConfig({
        r: 2,
        useRslora: true,
        initLoraWeights: false,
        targetModules: ["emb", "lin", "c_fc", "conv"],
      }),
      "default",
      { onWarning: null },
    );
    peft.eval();
    const inputs: Record<string, Tensor<Float32Array>> = {
      emb: ids([2, 3], 9, 7),
      lin: normalTensor([2, 4], createRng(8), 1),
      c_fc: normalTensor([3, 4], createRng(9), 1),
      conv: normalTensor([1, 2, 5, 5], createRng(10), 1),
    };
    const layers = [...peft.adapterLayers()];
    const before = new Map(layers.map(([n, l]) => [n, Float32Array.from(l.baseLayer.weight.data.data)]));
    const unmerged = new Map(layers.map(([n, l]) => [n, Float32Array.from(l.forward(inputs[n]!).data)]));
    peft.merge();
    // Float32 sums in another order: 1e-5 on outputs of order 1.
    for (const [n, l] of layers)
      expect(maxAbsDiff(l.forward(inputs[n]!).data, unmerged.get(n)!), n).toBeLessThan(1e-5);
    peft.unmerge();
    for (const [n, l] of layers)
      expect(maxAbsDiff(l.baseLayer.weight.data.data, before.get(n)!), n).toBeLessThan(1e-6);
  });

  it("forces fan_in_fan_out per layer kind on the config, with PEFT's warnings, in injection order", () => {
    const model = new Container({ attn: new GPT2Conv1D(4, 4), proj: new Linear(4, 4) });
    const config = new LoraConfig({ targetModules: ["attn", "proj"] });
    const peft = getPeftModel(model, config, "default", { onWarning: null });
    expect(peft.warnings).toEqual([
      "fan_in_fan_out is set to False but the target module is `Conv1D`. Setting fan_in_fan_out to True.",
      "fan_in_fan_out is set to True but the target module is `torch.nn.Linear`. Setting fan_in_fan_out to False.",
    ]);
    expect(config.fanInFanOut).toBe(false);
    const gpt2 = new LoraConfig({ targetModules: ["attn"] });
    getPeftModel(new Container({ attn: new GPT2Conv1D(4, 4) }), gpt2, "default", { onWarning: null });
    expect(gpt2.fanInFanOut).toBe(true);
  });

  it("grouped convs: PEFT's warning, forward works, merging throws; a rank not divisible by groups is refused before the model changes", () => {
    const conv = new Conv2d(4, 6, 3, { groups: 2, padding: 1 });
    initModuleParameters(conv, createRng(11));
    const peft = getPeftModel(
      new Container({ g: conv }),
      new LoraConfig({ r: 4, targetModules: ["g"] }),
      "default",
      {
        onWarning: null,
      },
    );
    expect(peft.warnings).toEqual([
      "LoRA adapter added to ConvNd layer with groups > 1. Merging is not supported.",
    ]);
    expect(peft.model.getSubmodule("g").forward(normalTensor([1, 4, 5, 5], createRng(1), 1)).shape).toEqual([
      1, 6, 5, 5,
    ]);
    expect(() => peft.merge()).toThrow(LoraError);

    const other = new Container({ g: new Conv2d(4, 6, 3, { groups: 2 }) });
    expect(() =>
      getPeftModel(other, new LoraConfig({ r: 3, targetModules: ["g"] }), "default", { onWarning: null }),
    ).toThrow("Targeting a Conv2d with groups=2 and rank 3.");
    expect(other.getSubmodule("g")).not.toBeInstanceOf(LycorisLayer);
  });

  it("rsLoRA scales by alpha/√r; setScale and unscaleLayer use alpha/r, as PEFT does", () => {
    const peft = getPeftModel(
      new Container({ q: new Linear(4, 4) }),
      new LoraConfig({ r: 4, loraAlpha: 8, useRslora: true, targetModules: ["q"] }),
    );
    const layer = peft.model.getSubmodule("q") as LycorisLayer;
    expect(layer.adapter("default")!.scaling).toBe(4);
    peft.setScale("default", 1);
    expect(layer.adapter("default")!.scaling).toBe(2);
  });

  it("refuses modules LoRA cannot adapt with a typed error", () => {
    const model = new Container({ norm: new LayerNorm(4) });
    expect(() => getPeftModel(model, new LoraConfig({ targetModules: ["norm"] }))).toThrow(
      LycorisConfigError,
    );
  });
});
