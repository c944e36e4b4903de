import { createRng, normalTensor, tensor } from "@lycoris-ts/kernels";
import { describe, expect, it } from "vitest";
import {
  AdamW,
  Conv2d,
  crossEntropyLoss,
  Flatten,
  initModuleParameters,
  Linear,
  MaxPool2d,
  ModelError,
  Parameter,
  ReLU,
  Sequential,
} from "../src/model/index";

describe("crossEntropyLoss", () => {
  it("equals −log softmax at the label, mean over rows, with gradient (softmax − onehot)/N", () => {
    const logits = tensor(Float32Array.from([1, 2, 3, 0, 0, 0]), [2, 3]);
    const { loss, dLogits } = crossEntropyLoss(logits, Int32Array.from([2, 0]));
    // By hand: row 0: log(e¹+e²+e³) − 3; row 1: log 3 − 0.
    const want = (Math.log(Math.E + Math.E ** 2 + Math.E ** 3) - 3 + Math.log(3)) / 2;
    // Tolerance 1e-12: computed in float64 from exactly representable logits.
    expect(Math.abs(loss - want)).toBeLessThan(1e-12);
    const z = Math.E + Math.E ** 2 + Math.E ** 3;
    const wantGrad = [Math.E / z, Math.E ** 2 / z, Math.E ** 3 / z - 1, 1 / 3 - 1, 1 / 3, 1 / 3].map(
      (v) => v / 2,
    );
    // Tolerance 1e-7: the gradient is rounded to float32 (relative 6e-8).
    dLogits.data.forEach((v, i) => {
      expect(Math.abs(v - wantGrad[i]!)).toBeLessThan(1e-7);
    });
  });

  it("is stable for large logits and rejects out-of-range labels", () => {
    const { loss } = crossEntropyLoss(tensor(Float32Array.from([1000, 0]), [1, 2]), Int32Array.from([0]));
    expect(loss).toBe(0);
    const e = (() => {
      try {
        crossEntropyLoss(tensor(Float32Array.from([1, 0]), [1, 2]), Int32Array.from([2]));
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(ModelError);
  });
});

describe("AdamW (torch semantics)", () => {
  it("two steps equal the hand-computed AdamW update", () => {
    const p = new Parameter(tensor(Float32Array.from([0.5, -1, 2]), [3]));
    const lr = 0.1;
    const [b1, b2] = [0.9, 0.999];
    const eps = 1e-8;
    const wd = 0.01;
    const opt = new AdamW([p], { lr, betas: [b1, b2], eps, weightDecay: wd });
    const grads = [
      [0.3, -0.2, 0],
      [0.1, 0.4, -0.5],
    ];
    // Reference, written from the paper/torch docs in float64: decay, moments, bias correction.
    const w = [0.5, -1, 2];
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    grads.forEach((g, t) => {
      p.grad = tensor(Float32Array.from(g), [3]);
      opt.step();
      for (let i = 0; i < 3; i++) {
        w[i] = w[i]! * (1 - lr * wd);
        m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
        v[i] = b2 * v[i]! + (1 - b2) * g[i]! ** 2;
        const mHat = m[i]! / (1 - b1 ** (t + 1));
        const vHat = v[i]! / (1 - b2 ** (t + 1));
        w[i] = w[i]! - (lr * mHat) / (Math.sqrt(vHat) + eps);
      }
      // Tolerance 1e-6: the optimiser keeps float32 weights and moments (relative 6e-8 each step).
      for (let i = 0; i < 3; i++) expect(Math.abs(p.data.data[i]! - w[i]!)).toBeLessThan(1e-6);
    });
    // Step 1 moves each weight with a nonzero gradient by ≈ lr against the gradient's sign.
    expect(w[0]).toBeLessThan(0.5 - 0.05);
  });

  it("skips parameters without a gradient or with requiresGrad false; zeroGrad clears", () => {
    const a = new Parameter(tensor(Float32Array.from([1]), [1]));
    const b = new Parameter(tensor(Float32Array.from([1]), [1]), false);
    b.grad = tensor(Float32Array.from([1]), [1]);
    const opt = new AdamW([a, b], { lr: 0.1 });
    opt.step();
    expect(a.data.data[0]).toBe(1);
    expect(b.data.data[0]).toBe(1);
    opt.zeroGrad();
    expect(b.grad).toBeNull();
  });
});

describe("training a tiny CNN with AdamW", () => {
  it("reduces the cross-entropy loss on a seeded toy problem", () => {
    // Toy task: 6×6 images; class 0 has a bright left half, class 1 a bright right half (plus noise).
    const rng = createRng(42);
    const n = 32;
    const x = normalTensor([n, 1, 6, 6], rng, 0.3);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 2;
      for (let r = 0; r < 6; r++) {
        for (let c = 0; c < 3; c++) x.data[i * 36 + r * 6 + c + (labels[i] === 1 ? 3 : 0)]! += 1;
      }
    }
    const model = new Sequential(
      new Conv2d(1, 4, 3, { padding: 1 }),
      new ReLU(),
      new MaxPool2d(2),
      new Flatten(),
      new Linear(36, 2),
    );
    initModuleParameters(model, createRng(7));
    const opt = new AdamW(model.parameters(), { lr: 0.02 });
    model.train();
    const losses: number[] = [];
    for (let step = 0; step < 30; step++) {
      const logits = model.forward(x);
      const { loss, dLogits } = crossEntropyLoss(logits, labels);
      losses.push(loss);
      opt.zeroGrad();
      model.backward(dLogits);
      opt.step();
    }
    // A working forward/backward/optimiser brings the loss far down; a sign error or a
    // missing gradient would leave it near ln 2 ≈ 0.69 or make it grow.
    expect(losses[0]).toBeGreaterThan(0.3);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.25);
    model.eval();
    const logits = model.forward(x);
    let correct = 0;
    for (let i = 0; i < n; i++) {
      const pred = logits.data[2 * i + 1]! > logits.data[2 * i]! ? 1 : 0;
      if (pred === labels[i]) correct++;
    }
    expect(correct).toBe(n);
  });
});
