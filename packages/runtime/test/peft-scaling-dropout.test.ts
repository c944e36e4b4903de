import type { Tensor } from "@lycoris-ts/kernels";
import { describe, expect, it } from "vitest";
import { AdapterError, AdapterRegistry, type Linear, LycorisLayer, PeftModel } from "../src/index";
import { baseModel, input, OuterConfig, outerVariant } from "./support/outer-variant";

const registry = new AdapterRegistry();
registry.register(outerVariant);

function model(o: ConstructorParameters<typeof OuterConfig>[0], seed = 3): PeftModel {
  return new PeftModel(
    baseModel(),
    new OuterConfig({ targetModules: ["q"], initWeights: false, ...o }),
    "default",
    {
      registry,
      seed,
    },
  );
}

const layerOf = (peft: PeftModel) => peft.model.getSubmodule("block.q") as LycorisLayer;
const base = (x: Tensor<Float32Array>) => baseModel().getSubmodule("block.q").forward(x).data;
const delta = (peft: PeftModel, x: Tensor<Float32Array>) => layerOf(peft).adapterOutput("default", x).data;

// float32 products of 6 terms: 1e-5 absolute on values of order 1.
const TOL = 1e-5;
const expectClose = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(TOL);
};

describe("scaling, as PEFT's set_scale / scale_layer / unscale_layer", () => {
  it("setScale(k) makes the scaling k·alpha/r; scaleLayer multiplies; unscaleLayer divides or resets", () => {
    const peft = model({ r: 2, alpha: 6 });
    peft.eval();
    const x = input();
    const unit = Float32Array.from(delta(peft, x)); // scaling 3
    expect(layerOf(peft).adapter("default")!.scaling).toBe(3);
    peft.setScale("default", 0.5);
    expect(layerOf(peft).adapter("default")!.scaling).toBe(1.5);
    expectClose(
      delta(peft, x),
      unit.map((v) => v * 0.5),
    );
    peft.scaleLayer(4);
    expect(layerOf(peft).adapter("default")!.scaling).toBe(6);
    peft.unscaleLayer(2);
    expect(layerOf(peft).adapter("default")!.scaling).toBe(3);
    peft.scaleLayer(10);
    peft.unscaleLayer();
    expect(layerOf(peft).adapter("default")!.scaling).toBe(3);
    expect(() => peft.setScale("nope", 1)).toThrow(AdapterError);
  });
});

describe("safe merge", () => {
  it("refuses an adapter that would put NaN into the weights and leaves them untouched", () => {
    const peft = model({ r: 2 });
    const layer = layerOf(peft);
    layer.parametersOf("default").get("outer_a")!.data.data[0] = Number.NaN;
    const before = Float32Array.from((layer.baseLayer as Linear).weight.data.data);
    expect(() => peft.merge({ safeMerge: true })).toThrow(/NaN/);
    expect(Array.from((layer.baseLayer as Linear).weight.data.data)).toEqual(Array.from(before));
    expect(layer.merged).toBe(false);
  });
});

describe("dropout in training mode (seeded), none in eval mode", () => {
  it("module_dropout = 1 skips the adapter in training; eval mode always applies it", () => {
    const peft = model({ r: 2, moduleDropout: 1 });
    const x = input();
    peft.train();
    expectClose(peft.model.getSubmodule("block.q").forward(x).data, base(x));
    peft.eval();
    const withAdapter = peft.model.getSubmodule("block.q").forward(x).data;
    expectClose(
      withAdapter,
      base(x).map((v, i) => v + delta(peft, x)[i]!),
    );
  });

  it("rank_dropout zeroes whole output rows of ΔW (columns of the output) and is reproducible per seed", () => {
    const run = (seed: number) => {
      const peft = model({ r: 2, rankDropout: 0.5 }, seed);
      const x = input();
      const d = Float32Array.from(delta(peft, x));
      peft.train();
      const y = peft.model.getSubmodule("block.q").forward(x).data;
      const b = base(x);
      const kept: boolean[] = [];
      for (let col = 0; col < 6; col++) {
        const rows = [0, 1, 2, 3].map((r) => y[r * 6 + col]! - b[r * 6 + col]!);
        const full = [0, 1, 2, 3].map((r) => d[r * 6 + col]!);
        const zero = rows.every((v) => Math.abs(v) < TOL);
        if (!zero) expectClose(rows, full); // kept rows are not rescaled without rank_dropout_scale
        kept.push(!zero);
      }
      return kept;
    };
    const a = run(7);
    expect(run(7)).toEqual(a);
    expect(a.some((k) => k)).toBe(true);
    expect(a.some((k) => !k)).toBe(true);
  });

  it("backward needs a training-mode forward", () => {
    const peft = model({ r: 2 });
    peft.eval();
    const x = input();
    const layer = layerOf(peft);
    layer.forward(x);
    expect(() => layer.backward(x)).toThrow(AdapterError);
    expect(layer).toBeInstanceOf(LycorisLayer);
  });
});

describe("loading saved tensors is all or nothing", () => {
  it("a wrong-shaped modules_to_save tensor is refused before any adapter value is written", async () => {
    const { adapterStateDict, loadAdapterStateDict } = await import("../src/index");
    const { tensor } = await import("@lycoris-ts/kernels");
    const peft = model({ r: 2, modulesToSave: ["out"] });
    const saved = adapterStateDict(peft, "default");
    expect([...saved.keys()]).toEqual([
      "base_model.model.block.q.outer_a",
      "base_model.model.block.q.outer_b",
      "base_model.model.block.out.weight",
      "base_model.model.block.out.bias",
    ]);
    const bad = new Map(
      [...saved].map(
        ([k, t]) =>
          [
            k,
            tensor(
              t.data.map((v) => v + 1),
              t.shape,
            ),
          ] as const,
      ),
    );
    bad.set("base_model.model.block.out.weight", tensor(new Float32Array(5), [5]));
    const before = Float32Array.from(layerOf(peft).parametersOf("default").get("outer_a")!.data.data);
    expect(() => loadAdapterStateDict(peft, "default", bad)).toThrow(/block\.out.*weight.*\[6, 6\].*\[5\]/);
    expect(Array.from(layerOf(peft).parametersOf("default").get("outer_a")!.data.data)).toEqual(
      Array.from(before),
    );
  });
});

describe("warnings PEFT would print reach the user", () => {
  it("a regex target with layers_to_transform: PEFT ignores layers_to_transform; we do too, and say so", () => {
    const seen: string[] = [];
    const peft = new PeftModel(
      baseModel(),
      new OuterConfig({ targetModules: ".*\\.q", layersToTransform: [0] }),
      "default",
      { registry, onWarning: (m) => seen.push(m) },
    );
    expect(peft.targetedModules).toEqual(["block.q"]);
    expect(seen.length).toBe(1);
    expect(seen[0]).toMatch(/layers_to_transform/);
    expect(peft.warnings).toEqual(seen);
  });
});
