import { createRng, normalTensor, tensor } from "@lycoris-ts/kernels";
import { describe, expect, it } from "vitest";
import {
  AvgPool2d,
  Embedding,
  Flatten,
  GPT2Conv1D,
  LayerNorm,
  Linear,
  MaxPool2d,
  ModelError,
  ReLU,
} from "../src/model/index";

/** Forward semantics of the layers the PEFT fixtures do not exercise (their base_forward covers linear/conv). */
describe("layer forward semantics", () => {
  it("GPT2Conv1D(nf, nx) equals a Linear whose weight is the transpose (tol 1e-6·(1+|y|): same sums, other order)", () => {
    const g = new GPT2Conv1D(3, 4);
    expect(g.weight.shape).toEqual([4, 3]);
    g.weight.data.data.set(normalTensor([4, 3], createRng(1), 1).data);
    g.bias.data.data.set([0.5, -1, 2]);
    const l = new Linear(4, 3);
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 3; j++) l.weight.data.data[j * 4 + i] = g.weight.data.data[i * 3 + j]!;
    l.bias!.data.data.set(g.bias.data.data);
    const x = normalTensor([2, 5, 4], createRng(2), 1);
    const a = g.forward(x);
    const b = l.forward(x);
    expect(a.shape).toEqual([2, 5, 3]);
    a.data.forEach((v, i) => {
      expect(Math.abs(v - b.data[i]!)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(v)));
    });
  });

  it("Linear accepts a single vector [in] and returns [out]", () => {
    const l = new Linear(2, 1);
    l.weight.data.data.set([2, 3]);
    l.bias!.data.data.set([1]);
    const y = l.forward(tensor(Float32Array.from([1, 1]), [2]));
    expect(y.shape).toEqual([1]);
    expect(y.data[0]).toBe(6);
  });

  it("Embedding looks rows up and rejects bad indices", () => {
    const e = new Embedding(3, 2);
    e.weight.data.data.set([0, 1, 10, 11, 20, 21]);
    const y = e.forward(tensor(Float32Array.from([2, 0, 1, 2]), [2, 2]));
    expect(y.shape).toEqual([2, 2, 2]);
    expect(Array.from(y.data)).toEqual([20, 21, 0, 1, 10, 11, 20, 21]);
    expect(() => e.forward(tensor(Float32Array.from([3]), [1]))).toThrow(ModelError);
    expect(() => e.forward(tensor(Float32Array.from([0.5]), [1]))).toThrow(ModelError);
  });

  it("LayerNorm matches the float64 formula with biased variance (tol 1e-6·(1+|y|))", () => {
    const ln = new LayerNorm(4, { eps: 1e-5 });
    ln.weight!.data.data.set([1, 2, 0.5, -1]);
    ln.bias!.data.data.set([0, 1, 0, -2]);
    const x = normalTensor([3, 4], createRng(3), 2);
    const y = ln.forward(x);
    for (let r = 0; r < 3; r++) {
      const row = Array.from(x.data.subarray(r * 4, r * 4 + 4));
      const mean = row.reduce((a, b) => a + b, 0) / 4;
      const v = row.reduce((a, b) => a + (b - mean) ** 2, 0) / 4;
      row.forEach((xv, j) => {
        const want = ((xv - mean) / Math.sqrt(v + 1e-5)) * ln.weight!.data.data[j]! + ln.bias!.data.data[j]!;
        expect(Math.abs(y.data[r * 4 + j]! - want)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(want)));
      });
    }
    expect(() => ln.forward(normalTensor([2, 5], createRng(4), 1))).toThrow(ModelError);
  });

  it("MaxPool2d and AvgPool2d on a hand example (exact)", () => {
    const x = tensor(
      Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]),
      [1, 1, 4, 4],
    );
    expect(Array.from(new MaxPool2d(2).forward(x).data)).toEqual([6, 8, 14, 16]);
    expect(Array.from(new AvgPool2d(2).forward(x).data)).toEqual([3.5, 5.5, 11.5, 13.5]);
    // 3x3 windows, stride 2, padding 1: output 2x2; count_include_pad divides by 9 even at the border.
    const inc = new AvgPool2d(3, { stride: 2, padding: 1 }).forward(x);
    expect(inc.shape).toEqual([1, 1, 2, 2]);
    expect(inc.data[0]).toBeCloseTo((1 + 2 + 5 + 6) / 9, 6);
    const exc = new AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }).forward(x);
    expect(exc.data[0]).toBeCloseTo((1 + 2 + 5 + 6) / 4, 6);
    expect(Array.from(new MaxPool2d(3, { stride: 2, padding: 1 }).forward(x).data)).toEqual([6, 8, 14, 16]);
  });

  it("ReLU and Flatten", () => {
    expect(Array.from(new ReLU().forward(tensor(Float32Array.from([-1, 0, 2]), [3])).data)).toEqual([
      0, 0, 2,
    ]);
    expect(new Flatten().forward(normalTensor([2, 3, 4, 5], createRng(5), 1)).shape).toEqual([2, 60]);
    expect(new Flatten(0, 1).forward(normalTensor([2, 3, 4], createRng(6), 1)).shape).toEqual([6, 4]);
  });
});
