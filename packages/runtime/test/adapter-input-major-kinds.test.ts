import { createRng, normalTensor, scale, type Tensor, tensor } from "@lycoris-ts/kernels";
import { LycorisConfig, type LycorisConfigOptions } from "@lycoris-ts/lycoris-config";
import { describe, expect, it } from "vitest";
import {
  AdapterError,
  AdapterRegistry,
  type AdapterVariant,
  adapterStateDict,
  Container,
  Embedding,
  GPT2Conv1D,
  initModuleParameters,
  type LycorisLayer,
  loadAdapterStateDict,
  PeftModel,
  splitPeftKey,
} from "../src/index";

/**
 * A variant whose ΔW is one full tensor of the base weight's shape, stored under a dotted name
 * (`full.weight`, like LoRA's `lora_A.weight`), with the optional hooks: scaling 2·alpha/r, input dropout
 * with probability `inputDrop`, and a prepareLayer that records its calls.
 */
type FullOptions = LycorisConfigOptions & { inputDrop?: number };
class FullConfig extends LycorisConfig {
  readonly inputDrop: number;
  constructor(o: FullOptions = {}) {
    super("FULL", o);
    this.inputDrop = o.inputDrop ?? 0;
  }
}
const calls: string[] = [];
const fullVariant: AdapterVariant<FullConfig> = {
  peftType: "FULL",
  prefix: "full",
  parameterNames: ["full.weight"],
  supportedKinds: ["embedding", "gpt2_conv1d", "linear"],
  createConfig: (o) => new FullConfig(o),
  prepareLayer: (ctx, existing) => {
    calls.push(`${ctx.layer.kind}:${existing}`);
    if (ctx.r === 3) throw new AdapterError("invalid_rank", "r = 3 refused", { field: "r" });
    return [`prepared ${ctx.layer.kind}`];
  },
  scaling: (ctx) => (2 * ctx.alpha) / ctx.r,
  inputDropout: (ctx) => (ctx.layer.kind === "embedding" ? 0 : ctx.config.inputDrop),
  parameterLayout: ({ layer }) => ({ params: [["full.weight", layer.weightShape]] }),
  initParameters: ({ layer }, rng) => ({ "full.weight": normalTensor(layer.weightShape, rng, 1) }),
  deltaWeight: (p, _ctx, s) => scale(p["full.weight"]!, s),
  deltaWeightBackward: (_p, _ctx, s, dD) => ({ "full.weight": scale(dD, s) }),
};

function model(): Container {
  const m = new Container({ emb: new Embedding(7, 3), c_attn: new GPT2Conv1D(4, 3) });
  initModuleParameters(m, createRng(1));
  return m;
}

function inject(o: FullOptions = {}, m: Container = model()): PeftModel {
  const registry = new AdapterRegistry();
  registry.register(fullVariant);
  return new PeftModel(
    m,
    new FullConfig({ r: 2, alpha: 3, targetModules: ["emb", "c_attn"], ...o }),
    "default",
    {
      registry,
      onWarning: null,
    },
  );
}

const ids = tensor(Float32Array.from([3, 0, 6, 3]), [2, 2]);
const x = normalTensor([5, 3], createRng(2), 1);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe("adapters on Embedding and GPT-2 Conv1D layers (weights stored input-major)", () => {
  it("forward adds the ΔW lookup / x·ΔW and equals the merged layer", () => {
    const peft = inject();
    peft.eval();
    const emb = peft.model.getSubmodule("emb") as LycorisLayer;
    const gpt2 = peft.model.getSubmodule("c_attn") as LycorisLayer;
    expect(emb.geometry).toMatchObject({
      kind: "embedding",
      inFeatures: 7,
      outFeatures: 3,
      weightShape: [7, 3],
    });
    expect(gpt2.geometry).toMatchObject({
      kind: "gpt2_conv1d",
      inFeatures: 3,
      outFeatures: 4,
      weightShape: [3, 4],
    });
    // Scaling hook: 2·alpha/r = 3.
    expect(emb.adapter("default")!.scaling).toBe(3);
    const before = [emb.forward(ids).data.slice(), gpt2.forward(x).data.slice()];
    peft.merge();
    // Float32 sums in another order: 1e-5 on values of order 1–10.
    expect(maxAbsDiff(emb.forward(ids).data, before[0]!)).toBeLessThan(1e-5);
    expect(maxAbsDiff(gpt2.forward(x).data, before[1]!)).toBeLessThan(1e-5);
  });

  it("backward gives dW = s·xᵀ·dy (Conv1D) and the scattered dy rows (embedding), zero dx for ids", () => {
    const peft = inject();
    peft.train();
    const gpt2 = peft.model.getSubmodule("c_attn") as LycorisLayer;
    const emb = peft.model.getSubmodule("emb") as LycorisLayer;
    const dyG = normalTensor([5, 4], createRng(3), 1);
    gpt2.forward(x);
    gpt2.backward(dyG);
    const dyE = normalTensor([2, 2, 3], createRng(4), 1);
    emb.forward(ids);
    expect(emb.backward(dyE).data.every((v) => v === 0)).toBe(true);
    // References written from the definitions (float64 loops); tolerance 1e-5 for float32 sums of ≤ 5 terms.
    const gG = gpt2.parametersOf("default").get("full.weight")!.grad!;
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 4; j++) {
        let acc = 0;
        for (let n = 0; n < 5; n++) acc += x.data[n * 3 + i]! * dyG.data[n * 4 + j]!;
        expect(Math.abs(gG.data[i * 4 + j]! - 3 * acc)).toBeLessThan(1e-5);
      }
    const gE = emb.parametersOf("default").get("full.weight")!.grad!;
    const want = new Float64Array(21);
    for (let n = 0; n < 4; n++)
      for (let j = 0; j < 3; j++) want[ids.data[n]! * 3 + j]! += 3 * dyE.data[n * 3 + j]!;
    expect(maxAbsDiff(gE.data, want)).toBeLessThan(1e-5);
  });

  it("names a dotted parameter as torch (`<module>.full.<adapter>.weight`) and saves / loads it by its full name", () => {
    const peft = inject();
    expect([...peft.model.namedParameters()].filter(([, p]) => p.requiresGrad).map(([n]) => n)).toEqual([
      "emb.full.default.weight",
      "c_attn.full.default.weight",
    ]);
    const sd = adapterStateDict(peft, "default");
    expect([...sd.keys()]).toEqual([
      "base_model.model.emb.full.weight",
      "base_model.model.c_attn.full.weight",
    ]);
    expect(splitPeftKey("base_model.model.c_attn.full.weight", fullVariant.parameterNames)).toEqual({
      module: "c_attn",
      param: "full.weight",
    });
    const other = inject();
    loadAdapterStateDict(other, "default", sd);
    expect(adapterStateDict(other, "default").get("base_model.model.emb.full.weight")!.data).toEqual(
      sd.get("base_model.model.emb.full.weight")!.data,
    );
  });

  it("calls prepareLayer per target in order (existing layers flagged), and a refusal leaves the model unchanged", () => {
    calls.length = 0;
    const peft = inject();
    expect(peft.warnings).toEqual(["prepared embedding", "prepared gpt2_conv1d"]);
    peft.addAdapter("second", new FullConfig({ r: 2, targetModules: ["emb"] }));
    expect(calls).toEqual(["embedding:false", "gpt2_conv1d:false", "embedding:true"]);
    const m = model();
    expect(() => inject({ r: 3 }, m)).toThrow(AdapterError);
    expect(m.getSubmodule("emb")).toBeInstanceOf(Embedding);
  });

  it("drops the adapter path's input in training with the inputDropout probability (p = 1: base output)", () => {
    const peft = inject({ inputDrop: 1 });
    const gpt2 = peft.model.getSubmodule("c_attn") as LycorisLayer;
    const base = gpt2.baseLayer.forward(x).data.slice();
    peft.train();
    const y: Tensor<Float32Array> = gpt2.forward(x);
    expect(maxAbsDiff(y.data, base)).toBe(0);
    peft.eval();
    expect(maxAbsDiff(gpt2.forward(x).data, base)).toBeGreaterThan(0.1);
  });
});
