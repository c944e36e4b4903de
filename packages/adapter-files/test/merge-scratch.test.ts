import { createRng, normalTensor, ScratchPool, type Tensor } from "@lycoris-ts/kernels";
import { LoHaConfig, lohaVariant } from "@lycoris-ts/loha";
import { LoKrConfig, lokrVariant } from "@lycoris-ts/lokr";
import { LoraConfig, loraVariant } from "@lycoris-ts/lora";
import type { LycorisConfig } from "@lycoris-ts/lycoris-config";
import {
  type AdaptableLayer,
  type AdapterVariant,
  applyWeight,
  Conv1d,
  Conv2d,
  Embedding,
  GPT2Conv1D,
  Linear,
  LycorisLayer,
  mergeIntoWeight,
} from "@lycoris-ts/runtime";
import { describe, expect, it } from "vitest";

/**
 * Merges through a reused scratch buffer must give the same bits as merges into fresh arrays: every
 * variant's ΔW and merge, run once with fresh buffers and once with one pool shared by all cases (its
 * buffers pre-filled with NaN and longer than any ΔW, then holding the previous case's leftovers), are
 * compared bit for bit (tolerance 0: the same float operations in the same order, only the memory
 * differs). Expected values are the fresh path's; the fixture tests pin those to PEFT.
 */

type Variant = AdapterVariant<LycorisConfig>;
const v = (x: unknown): Variant => x as Variant;

interface Case {
  readonly name: string;
  readonly variant: Variant;
  readonly config: LycorisConfig;
  readonly r: number;
  readonly base: () => AdaptableLayer;
}

const CASES: readonly Case[] = [
  {
    name: "LoKr linear 96×64",
    variant: v(lokrVariant),
    config: new LoKrConfig({ r: 4, decomposeFactor: 8 }),
    r: 4,
    base: () => new Linear(64, 96),
  },
  {
    name: "LoKr conv1d, full lokr_w2 (PEFT's permuted layout, ΔW materialised)",
    variant: v(lokrVariant),
    config: new LoKrConfig({ r: 64 }),
    r: 64,
    base: () => new Conv1d(16, 32, 3),
  },
  {
    name: "LoHa linear 80×48",
    variant: v(lohaVariant),
    config: new LoHaConfig({ r: 4 }),
    r: 4,
    base: () => new Linear(48, 80),
  },
  {
    name: "LoHa conv2d Tucker",
    variant: v(lohaVariant),
    config: new LoHaConfig({ r: 3, useEffectiveConv2d: true }),
    r: 3,
    base: () => new Conv2d(8, 12, 3),
  },
  {
    name: "LoRA linear 128×72",
    variant: v(loraVariant),
    config: new LoraConfig({ r: 8 }),
    r: 8,
    base: () => new Linear(72, 128),
  },
  {
    name: "LoRA conv2d",
    variant: v(loraVariant),
    config: new LoraConfig({ r: 4 }),
    r: 4,
    base: () => new Conv2d(6, 10, 3),
  },
  {
    name: "LoRA GPT-2 Conv1D",
    variant: v(loraVariant),
    config: new LoraConfig({ r: 4, fanInFanOut: true }),
    r: 4,
    base: () => new GPT2Conv1D(40, 24),
  },
  {
    name: "LoRA embedding",
    variant: v(loraVariant),
    config: new LoraConfig({ r: 4 }),
    r: 4,
    base: () => new Embedding(50, 16),
  },
];

/** A layer carrying adapter "a" with seeded random factors (not the zero init, so ΔW ≠ 0). */
function adapted(c: Case, seed: number): LycorisLayer {
  const base = c.base();
  const rng = createRng(seed);
  const w = base.weight.data.data;
  for (let i = 0; i < w.length; i++) w[i] = rng.uniform() - 0.5;
  const layer = new LycorisLayer(base, { rng: createRng(seed + 1) });
  layer.addAdapter("a", c.variant, c.config, c.r, 2 * c.r, createRng(seed + 2));
  for (const [, p] of layer.parametersOf("a")) p.data.data.set(normalTensor(p.data.shape, rng, 0.2).data);
  return layer;
}

/** The largest weight of the cases, plus slack: the pool's buffers are longer than any request. */
const LARGEST = Math.max(...CASES.map((c) => c.base().weight.data.data.length)) + 7;

function dirtyPool(): ScratchPool {
  const pool = new ScratchPool();
  pool.take(LARGEST, 0).fill(Number.NaN);
  pool.take(LARGEST, 1).fill(Number.NaN);
  return pool;
}

function expectSameBits(a: Float32Array, b: Float32Array, what: string): void {
  expect(a.length, what).toBe(b.length);
  const diff = Buffer.compare(
    Buffer.from(a.buffer, a.byteOffset, a.byteLength),
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
  expect(diff, `${what}: bits differ`).toBe(0);
}

function weightCopy(layer: LycorisLayer): Tensor<Float32Array> {
  const w = layer.baseLayer.weight.data;
  return { data: Float32Array.from(w.data), shape: [...w.shape] };
}

describe("ΔW into a caller's buffer (the deltaWeight hook's `out`)", () => {
  it.each(CASES.map((c, i) => [c.name, c, i] as const))(
    "%s: same bits as a fresh ΔW, in `out`",
    (_, c, i) => {
      const layer = adapted(c, 100 + i);
      const a = layer.adapter("a")!;
      const params = layer.paramValues("a");
      const fresh = c.variant.deltaWeight(params, a.ctx, a.scaling);
      const out = new Float32Array(fresh.data.length + 7).fill(Number.NaN);
      const reused = c.variant.deltaWeight(params, a.ctx, a.scaling, out);
      expect(reused.data.buffer, "ΔW written into `out`").toBe(out.buffer);
      expect(reused.shape).toEqual(fresh.shape);
      expectSameBits(reused.data, fresh.data, c.name);
    },
  );
});

describe("mergeIntoWeight with one reused scratch pool", () => {
  it("every case, merged and unmerged in turn through one NaN-prefilled pool: same bits as fresh buffers", () => {
    const pool = dirtyPool();
    for (const [i, c] of CASES.entries()) {
      const layer = adapted(c, 200 + i);
      const a = layer.adapter("a")!;
      const params = layer.paramValues("a");
      for (const s of [a.scaling, -0.75 * a.scaling]) {
        const fresh = weightCopy(layer);
        const pooled = weightCopy(layer);
        mergeIntoWeight(c.variant, fresh, params, a.ctx, s);
        mergeIntoWeight(c.variant, pooled, params, a.ctx, s, pool);
        expectSameBits(pooled.data, fresh.data, `${c.name} at scaling ${s}`);
      }
    }
    expect(pool.capacity, "the pool never grew past its first buffers").toBe(2 * LARGEST);
  });

  it("a third-party variant that ignores `out` merges the same with a pool (backwards compatible)", () => {
    const c = CASES.find((x) => x.name.startsWith("LoRA linear"))!;
    const ignoring: Variant = { ...c.variant, deltaWeight: (p, ctx, s) => c.variant.deltaWeight(p, ctx, s) };
    const layer = adapted(c, 300);
    const a = layer.adapter("a")!;
    const fresh = weightCopy(layer);
    const pooled = weightCopy(layer);
    mergeIntoWeight(c.variant, fresh, layer.paramValues("a"), a.ctx, a.scaling);
    mergeIntoWeight(ignoring, pooled, layer.paramValues("a"), a.ctx, a.scaling, dirtyPool());
    expectSameBits(pooled.data, fresh.data, "variant ignoring out");
  });
});

describe("LycorisLayer.merge / unmerge with a shared scratch pool", () => {
  it("plain and safe merges, then unmerges: same bits as layers merging with their own fresh buffers", () => {
    const pool = dirtyPool();
    for (const [i, c] of CASES.entries()) {
      for (const safeMerge of [false, true]) {
        const fresh = adapted(c, 400 + i);
        const pooled = adapted(c, 400 + i);
        fresh.merge({ adapterNames: ["a"], safeMerge });
        pooled.merge({ adapterNames: ["a"], safeMerge, scratch: pool });
        const what = `${c.name}${safeMerge ? " (safe)" : ""}`;
        expectSameBits(pooled.baseLayer.weight.data.data, fresh.baseLayer.weight.data.data, `merged ${what}`);
        fresh.unmerge();
        pooled.unmerge({ scratch: pool });
        expectSameBits(
          pooled.baseLayer.weight.data.data,
          fresh.baseLayer.weight.data.data,
          `unmerged ${what}`,
        );
      }
    }
  });
});

describe("forward of a variant without a structured forward (ΔW in the layer's reused buffer)", () => {
  const lora = CASES.filter((c) => c.name.startsWith("LoRA"));
  it.each(lora.map((c, i) => [c.name, c, i] as const))(
    "%s: each output has the bits of base + fresh ΔW",
    (_, c, i) => {
      const { forward: _f, backward: _b, ...rest } = c.variant;
      const materialising: Variant = rest;
      const layer = adapted({ ...c, variant: materialising }, 500 + i);
      layer.setActiveAdapters(["a"]);
      layer.eval();
      const a = layer.adapter("a")!;
      const g = a.ctx.layer;
      const rng = createRng(600 + i);
      const input = (): Tensor<Float32Array> => {
        if (g.kind === "embedding") {
          return { data: Float32Array.from([3, 0, 49, 7, 3]), shape: [5] };
        }
        const shape =
          g.kind === "conv2d"
            ? [2, g.inFeatures, 5, 5]
            : [3, g.weightShape[g.kind === "gpt2_conv1d" ? 0 : 1]!];
        return normalTensor(shape, rng, 1);
      };
      const [x1, x2] = [input(), input()];
      const y1 = layer.forward(x1);
      const kept = Float32Array.from(y1.data);
      const y2 = layer.forward(x2);
      expectSameBits(y1.data, kept, "the first output is not overwritten by the second forward");
      for (const [x, y] of [
        [x1, y1],
        [x2, y2],
      ] as const) {
        const want = layer.baseLayer.forward(x);
        const d = applyWeight(
          x,
          materialising.deltaWeight(layer.paramValues("a"), a.ctx, a.scaling),
          a.ctx.layer,
        );
        for (let k = 0; k < want.data.length; k++) want.data[k] = want.data[k]! + d.data[k]!;
        expectSameBits(y.data, want.data, c.name);
      }
    },
  );
});
