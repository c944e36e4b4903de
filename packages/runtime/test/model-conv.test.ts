import { createRng, normalTensor, type Tensor } from "@lycoris-ts/kernels";
import { describe, expect, it } from "vitest";
import { Conv1d, Conv2d, Conv3d, type ConvModuleOptions } from "../src/model/index";

type Mode = "zeros" | "reflect" | "replicate" | "circular";

/** torch's padding rule for one coordinate (reflect excludes the edge; circular wraps). */
function source(i: number, n: number, mode: Mode): number {
  if (i >= 0 && i < n) return i;
  if (mode === "zeros") return -1;
  if (mode === "replicate") return i < 0 ? 0 : n - 1;
  if (mode === "circular") return ((i % n) + n) % n;
  return i < 0 ? -i : 2 * (n - 1) - i;
}

/**
 * Direct float64 reference of a 2-D convolution (torch semantics) written
 * independently of the kernels: pad, then slide the window. A 1-D conv is the
 * case H = 1.
 */
function reference(
  x: Tensor<Float32Array>,
  w: Tensor<Float32Array>,
  b: Tensor<Float32Array> | null,
  o: { stride: number[]; padding: number[]; dilation: number[]; groups: number; mode: Mode },
): Float64Array {
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [oc, cg, kh, kw] = w.shape as [number, number, number, number];
  const oh = Math.floor((h + 2 * o.padding[0]! - o.dilation[0]! * (kh - 1) - 1) / o.stride[0]!) + 1;
  const ow = Math.floor((wd + 2 * o.padding[1]! - o.dilation[1]! * (kw - 1) - 1) / o.stride[1]!) + 1;
  const out = new Float64Array(n * oc * oh * ow);
  const og = oc / o.groups;
  for (let bi = 0; bi < n; bi++)
    for (let co = 0; co < oc; co++)
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          let s = b ? b.data[co]! : 0;
          const g = Math.floor(co / og);
          for (let ci = 0; ci < cg; ci++)
            for (let a = 0; a < kh; a++)
              for (let q = 0; q < kw; q++) {
                const r = source(i * o.stride[0]! - o.padding[0]! + a * o.dilation[0]!, h, o.mode);
                const cc = source(j * o.stride[1]! - o.padding[1]! + q * o.dilation[1]!, wd, o.mode);
                if (r < 0 || cc < 0) continue;
                s +=
                  x.data[((bi * c + g * cg + ci) * h + r) * wd + cc]! *
                  w.data[((co * cg + ci) * kh + a) * kw + q]!;
              }
          out[((bi * oc + co) * oh + i) * ow + j] = s;
        }
  return out;
}

const MODES: Mode[] = ["zeros", "reflect", "replicate", "circular"];

function randomize(m: Conv1d | Conv2d, seed: number) {
  const rng = createRng(seed);
  for (const p of m.parameters()) p.data.data.set(normalTensor(p.shape, rng, 1).data);
}

/** Largest |actual − expected| / (1 + |expected|); float32 sums of ≤ 30 terms of size ~1 stay below 1e-5. */
function worst(actual: Float32Array, expected: Float64Array): number {
  let w = 0;
  for (let i = 0; i < expected.length; i++) {
    w = Math.max(w, Math.abs(actual[i]! - expected[i]!) / (1 + Math.abs(expected[i]!)));
  }
  return w;
}

describe("the base conv layers pad with their own padding mode (vs a float64 reference, tol 1e-5·(1+|ref|))", () => {
  it.each(MODES)("Conv2d, padding mode %s, stride/dilation/groups", (mode) => {
    const o: ConvModuleOptions = {
      stride: [2, 1],
      padding: [2, 1],
      dilation: [1, 2],
      groups: 2,
      paddingMode: mode,
    };
    const m = new Conv2d(4, 6, [3, 2], o);
    randomize(m, 1);
    const x = normalTensor([2, 4, 6, 5], createRng(2), 1);
    const y = m.eval().forward(x);
    const ref = reference(x, m.weight.data, m.bias!.data, {
      stride: [2, 1],
      padding: [2, 1],
      dilation: [1, 2],
      groups: 2,
      mode,
    });
    expect(y.data.length).toBe(ref.length);
    expect(worst(y.data, ref)).toBeLessThanOrEqual(1e-5);
  });

  it.each(MODES)("Conv1d, padding mode %s", (mode) => {
    const m = new Conv1d(3, 4, 3, { padding: 2, dilation: 2, paddingMode: mode, bias: false });
    randomize(m, 3);
    const x = normalTensor([2, 3, 7], createRng(4), 1);
    const y = m.eval().forward(x);
    const x4 = { data: x.data, shape: [2, 3, 1, 7] };
    const w4 = { data: m.weight.data.data, shape: [4, 3, 1, 3] };
    const ref = reference(x4, w4, null, {
      stride: [1, 1],
      padding: [0, 2],
      dilation: [1, 2],
      groups: 1,
      mode,
    });
    expect(y.shape).toEqual([2, 4, 7]);
    expect(worst(y.data, ref)).toBeLessThanOrEqual(1e-5);
  });
});

describe("Conv3d (direct loops) against sums of the kernels' Conv2d over depth (tol 1e-5·(1+|ref|))", () => {
  it("stride/padding/dilation/groups, zeros padding", () => {
    const m = new Conv3d(4, 6, [2, 3, 2], {
      stride: [2, 1, 2],
      padding: [1, 1, 0],
      dilation: [2, 1, 1],
      groups: 2,
    });
    const rng = createRng(9);
    for (const p of m.parameters()) p.data.data.set(normalTensor(p.shape, rng, 1).data);
    const [n, c, D, H, W] = [2, 4, 5, 4, 5];
    const x = normalTensor([n, c, D, H, W], createRng(10), 1);
    const y = m.eval().forward(x);
    const [od, oh, ow] = y.shape.slice(2) as [number, number, number];
    expect(y.shape).toEqual([n, 6, 3, 4, 2]);
    // Reference: out[:, :, z] = bias + Σ_a conv2d(x[:, :, z·2 − 1 + 2a], w[:, :, a]) (zeros outside the volume).
    const slab = (src: Float32Array, shape: number[], axis2: number) => {
      const [b0, b1, , b3, b4] = shape as [number, number, number, number, number];
      const out = new Float32Array(b0 * b1 * b3 * b4);
      for (let i = 0; i < b0 * b1; i++)
        out.set(
          src.subarray((i * shape[2]! + axis2) * b3 * b4, (i * shape[2]! + axis2 + 1) * b3 * b4),
          i * b3 * b4,
        );
      return out;
    };
    const ref = new Float64Array(y.data.length);
    for (let z = 0; z < od; z++) {
      for (let a = 0; a < 2; a++) {
        const d = z * 2 - 1 + a * 2;
        if (d < 0 || d >= D) continue;
        const conv = new Conv2d(4, 6, [3, 2], { stride: [1, 2], padding: [1, 0], groups: 2, bias: false });
        conv.weight.data.data.set(slab(m.weight.data.data, [...m.weight.shape], a));
        const part = conv.eval().forward({ data: slab(x.data, [n, c, D, H, W], d), shape: [n, c, H, W] });
        for (let b = 0; b < n * 6; b++)
          for (let i = 0; i < oh * ow; i++) ref[(b * od + z) * oh * ow + i]! += part.data[b * oh * ow + i]!;
      }
    }
    for (let i = 0; i < ref.length; i++) ref[i]! += m.bias!.data.data[Math.floor(i / (od * oh * ow)) % 6]!;
    expect(worst(y.data, ref)).toBeLessThanOrEqual(1e-5);
  });
});
