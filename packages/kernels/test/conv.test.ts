import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ConvOptions,
  conv1d,
  conv1dBackward,
  conv2d,
  conv2dBackward,
  KernelsError,
  type PaddingMode,
  setBackend,
  type Tensor,
} from "../src/index";
import { backendsUnderTest, dot, expectClose, f32, numericGrad, rand64 } from "./helpers";
import { refConv2d } from "./reference";

// Each output sums C/g·kh·kw ≤ 72 products in f32: 1e-5 relative to max(1, max|y|).
const TOL = 1e-5;
const MODES: PaddingMode[] = ["zeros", "reflect", "replicate", "circular"];

interface Case {
  x: [number, number, number, number];
  o: number;
  k: [number, number];
  stride: [number, number];
  padding: [number, number] | "same" | "valid";
  dilation: [number, number];
  groups: number;
}

const CASES: Case[] = [
  { x: [2, 3, 7, 6], o: 4, k: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 },
  { x: [1, 4, 9, 8], o: 6, k: [3, 2], stride: [2, 3], padding: [2, 1], dilation: [1, 1], groups: 2 },
  { x: [2, 2, 8, 8], o: 2, k: [3, 3], stride: [1, 1], padding: "same", dilation: [2, 1], groups: 1 },
  { x: [1, 3, 6, 7], o: 3, k: [2, 4], stride: [1, 1], padding: "same", dilation: [1, 1], groups: 3 },
  { x: [2, 2, 5, 6], o: 4, k: [3, 3], stride: [2, 1], padding: "valid", dilation: [1, 2], groups: 1 },
  { x: [1, 6, 10, 9], o: 4, k: [1, 1], stride: [3, 2], padding: [0, 0], dilation: [1, 1], groups: 2 },
];

function sides(c: Case): [number, number, number, number] {
  if (c.padding === "valid") return [0, 0, 0, 0];
  if (c.padding === "same") {
    const th = c.dilation[0] * (c.k[0] - 1);
    const tw = c.dilation[1] * (c.k[1] - 1);
    return [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
  }
  return [c.padding[0], c.padding[0], c.padding[1], c.padding[1]];
}

function opts(c: Case, mode: PaddingMode): ConvOptions {
  return { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups, paddingMode: mode };
}

function opts1d(c: Case, mode: PaddingMode): ConvOptions {
  const padding = typeof c.padding === "string" ? c.padding : [c.padding[1]];
  return { stride: [c.stride[1]], padding, dilation: [c.dilation[1]], groups: c.groups, paddingMode: mode };
}

describe.each(backendsUnderTest())("conv on backend %s", (backend) => {
  beforeAll(() => setBackend(backend));
  afterAll(() => setBackend("auto"));

  for (const [ci, c] of CASES.entries()) {
    for (const mode of MODES) {
      it(`conv2d case ${ci} (${JSON.stringify(c.padding)}, groups ${c.groups}) padding_mode=${mode}`, () => {
        const x = rand64(c.x, ci + 1);
        const w = rand64([c.o, c.x[1] / c.groups, ...c.k], ci + 100);
        const bias = rand64([c.o], ci + 200);
        const ref = refConv2d(x, w, bias, c.stride, sides(c), c.dilation, c.groups, mode);
        expectClose(conv2d(f32(x), f32(w), f32(bias), opts(c, mode)), ref, TOL);
        expectClose(conv2d(x, w, bias, opts(c, mode)), ref, 1e-12);
      });

      it(`conv1d case ${ci} padding_mode=${mode}`, () => {
        const [n, ch, , len] = c.x;
        const x = rand64([n, ch, len], ci + 1);
        const w = rand64([c.o, ch / c.groups, c.k[1]], ci + 100);
        const s = sides(c);
        const ref = refConv2d(
          { data: x.data, shape: [n, ch, 1, len] },
          { data: w.data, shape: [c.o, ch / c.groups, 1, c.k[1]] },
          null,
          [1, c.stride[1]],
          [0, 0, s[2], s[3]],
          [1, c.dilation[1]],
          c.groups,
          mode,
        );
        const y = conv1d(f32(x), f32(w), null, opts1d(c, mode));
        expect(y.shape).toEqual([n, c.o, ref.shape[3]]);
        expectClose({ data: y.data, shape: ref.shape }, ref, TOL);
      });
    }
  }
});

describe("conv validation", () => {
  const x = f32(rand64([1, 4, 5, 5], 1));
  const base: ConvOptions = {
    stride: [1, 1],
    padding: [1, 1],
    dilation: [1, 1],
    groups: 1,
    paddingMode: "zeros",
  };
  it("rejects bad groups, 'same' with stride, oversize reflect pads and mismatched weights", () => {
    expect(() => conv2d(x, f32(rand64([3, 4, 3, 3], 2)), null, { ...base, groups: 3 })).toThrow(KernelsError);
    expect(() =>
      conv2d(x, f32(rand64([4, 4, 3, 3], 2)), null, { ...base, stride: [2, 2], padding: "same" }),
    ).toThrow(KernelsError);
    expect(() =>
      conv2d(x, f32(rand64([4, 4, 3, 3], 2)), null, { ...base, padding: [5, 5], paddingMode: "reflect" }),
    ).toThrow(KernelsError);
    expect(() => conv2d(x, f32(rand64([4, 3, 3, 3], 2)), null, base)).toThrow(KernelsError);
  });
});

describe("conv backward gradient checks (float64 finite differences)", () => {
  const close = (t: Tensor<Float64Array>, num: Float64Array) =>
    expectClose(t, { data: num, shape: t.shape }, 1e-7);

  for (const mode of MODES) {
    it(`conv2d dx, dw, db with padding_mode=${mode} (1e-7; linear in x and w, h = 1e-3)`, () => {
      const c = CASES[1]!;
      const o = opts(c, mode);
      const x = rand64(c.x, 51);
      const w = rand64([c.o, c.x[1] / c.groups, ...c.k], 52);
      const bias = rand64([c.o], 53);
      const y0 = conv2d(x, w, bias, o);
      const dy = rand64(y0.shape, 54);
      const loss = () => dot(dy.data, conv2d(x, w, bias, o).data);
      const g = conv2dBackward(x, w, dy, o);
      close(g.dx, numericGrad(x, loss));
      close(g.dw, numericGrad(w, loss));
      close(g.db, numericGrad(bias, loss));
    });

    it(`conv1d dx, dw, db with padding_mode=${mode} ('same', dilation 2, groups 2)`, () => {
      const o: ConvOptions = { stride: [1], padding: "same", dilation: [2], groups: 2, paddingMode: mode };
      const x = rand64([2, 4, 9], 61);
      const w = rand64([6, 2, 3], 62);
      const bias = rand64([6], 63);
      const y0 = conv1d(x, w, bias, o);
      const dy = rand64(y0.shape, 64);
      const loss = () => dot(dy.data, conv1d(x, w, bias, o).data);
      const g = conv1dBackward(x, w, dy, o);
      close(g.dx, numericGrad(x, loss));
      close(g.dw, numericGrad(w, loss));
      close(g.db, numericGrad(bias, loss));
    });
  }

  it("float32 conv2d gradients match float64 (2e-5 relative)", () => {
    const c = CASES[2]!;
    const o = opts(c, "reflect");
    const x = rand64(c.x, 71);
    const w = rand64([c.o, c.x[1], ...c.k], 72);
    const dy = rand64(conv2d(x, w, null, o).shape, 73);
    const g64 = conv2dBackward(x, w, dy, o);
    const g32 = conv2dBackward(f32(x), f32(w), f32(dy), o);
    expectClose(g32.dx, g64.dx, 2e-5);
    expectClose(g32.dw, g64.dw, 2e-5);
    expectClose(g32.db, g64.db, 2e-5);
  });
});
