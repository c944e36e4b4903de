import { type ConvOptions, createRng, type Tensor } from "@lycoris-ts/kernels";
import { describe, expect, it } from "vitest";
import { type LoHaLayerShape, lohaBackward, lohaForward, lohaParamShapes } from "../src/functional/index";
import { randn64, randomParams64 } from "./support/random";

// Gradient checks in float64 against central finite differences of L = Σ y ⊙ R (so dy = R).
// The adapter output is linear in every single factor entry and in x (ΔW is a product of factors
// that each enter once), so the central difference is exact up to rounding: with h = 1e-3 and
// |L| ≲ 10³ the rounding error is ≲ 1e-16·10³/1e-3 = 1e-10. Tolerance 1e-7·(1 + |g|).
const H = 1e-3;
const TOL = 1e-7;

interface Setup {
  name: string;
  layer: LoHaLayerShape;
  conv?: ConvOptions;
  x: number[];
  effective?: boolean;
  r?: number;
  path?: "factorised" | "materialised";
}

const setups: Setup[] = [
  {
    name: "linear, factorised",
    layer: { kind: "linear", outFeatures: 6, inFeatures: 5, kernelSize: [] },
    x: [2, 3, 5],
    path: "factorised",
  },
  {
    name: "linear, materialised",
    layer: { kind: "linear", outFeatures: 6, inFeatures: 5, kernelSize: [] },
    x: [4, 5],
    path: "materialised",
  },
  {
    name: "conv1d",
    layer: { kind: "conv1d", outFeatures: 4, inFeatures: 3, kernelSize: [3] },
    conv: { stride: [2], padding: [1], dilation: [1], groups: 1, paddingMode: "zeros" },
    x: [2, 3, 7],
  },
  {
    name: "conv2d, groups 2, stride 2",
    layer: { kind: "conv2d", outFeatures: 4, inFeatures: 2, kernelSize: [3, 3], groups: 2 },
    conv: { stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 2, paddingMode: "zeros" },
    x: [2, 4, 5, 5],
  },
  {
    name: "conv2d effective conv (Tucker)",
    layer: { kind: "conv2d", outFeatures: 4, inFeatures: 3, kernelSize: [3, 2] },
    conv: { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1, paddingMode: "zeros" },
    x: [2, 3, 4, 4],
    effective: true,
  },
  {
    name: "conv1d effective conv (Tucker)",
    layer: { kind: "conv1d", outFeatures: 4, inFeatures: 3, kernelSize: [3] },
    conv: { stride: [1], padding: [1], dilation: [1], groups: 1, paddingMode: "zeros" },
    x: [2, 3, 6],
    effective: true,
  },
];

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] ?? 0) * (b[i] ?? 0);
  return s;
}

describe("lohaBackward vs finite differences (float64)", () => {
  for (const s of setups) {
    it(s.name, () => {
      const layout = lohaParamShapes(s.layer, { r: s.r ?? 2, useEffectiveConv2d: s.effective === true });
      expect(layout.structure.effectiveConv).toBe(s.effective === true);
      const params = randomParams64(layout.params, 31);
      const x = randn64(s.x, createRng(32));
      const scale = 1.5;
      const opts = s.path === undefined ? {} : { path: s.path };
      const y0 = lohaForward(x, params, s.layer, scale, s.conv, opts);
      const dy = randn64(y0.shape, createRng(34));
      const loss = () => dot(lohaForward(x, params, s.layer, scale, s.conv, opts).data, dy.data);
      const { dx, grads } = lohaBackward(x, params, s.layer, scale, dy, s.conv, opts);
      expect(dx.shape).toEqual(x.shape);
      expect(Object.keys(grads).sort()).toEqual(layout.params.map(([n]) => n).sort());

      const check = (label: string, t: Tensor<Float64Array>, g: Tensor<Float64Array>) => {
        expect(g.shape, label).toEqual(t.shape);
        const d = t.data;
        for (let i = 0; i < d.length; i++) {
          const v = d[i] ?? 0;
          d[i] = v + H;
          const up = loss();
          d[i] = v - H;
          const down = loss();
          d[i] = v;
          const fd = (up - down) / (2 * H);
          const an = g.data[i] ?? 0;
          expect(Math.abs(fd - an), `${label}[${i}] fd=${fd} analytic=${an}`).toBeLessThanOrEqual(
            TOL * (1 + Math.abs(an)),
          );
        }
      };
      check("x", x, dx);
      for (const [name] of layout.params) {
        const t = params[name];
        const g = grads[name];
        if (t === undefined || g === undefined) throw new Error(`missing ${name}`);
        check(name, t, g);
      }
    });
  }
  it("factorised and materialised linear backward agree", () => {
    const layer: LoHaLayerShape = { kind: "linear", outFeatures: 8, inFeatures: 6, kernelSize: [] };
    const params = randomParams64(lohaParamShapes(layer, { r: 3, useEffectiveConv2d: false }).params, 41);
    const x = randn64([5, 6], createRng(42));
    const dy = randn64([5, 8], createRng(43));
    const a = lohaBackward(x, params, layer, 0.7, dy, undefined, { path: "factorised" });
    const b = lohaBackward(x, params, layer, 0.7, dy, undefined, { path: "materialised" });
    const close = (p: Tensor<Float64Array>, q: Tensor<Float64Array>) =>
      p.data.every((v, i) => Math.abs(v - (q.data[i] ?? 0)) <= 1e-12 * (1 + Math.abs(v)));
    expect(close(a.dx, b.dx)).toBe(true);
    for (const k of Object.keys(a.grads)) {
      const ga = a.grads[k];
      const gb = b.grads[k];
      if (ga === undefined || gb === undefined) throw new Error(`missing ${k}`);
      expect(close(ga, gb), k).toBe(true);
    }
  });
});
