/* Naive float64 reference implementations, written independently of src/ (index loops only). */
import type { Tensor } from "../src/index";

type T64 = Tensor<Float64Array>;

export function refKron(a: T64, b: T64): T64 {
  const [p, q] = a.shape as [number, number];
  const [r, s] = b.shape as [number, number];
  const kernel = b.shape.slice(2);
  const kn = kernel.reduce((x, y) => x * y, 1);
  const out = new Float64Array(p * r * q * s * kn);
  for (let i = 0; i < p; i++)
    for (let k = 0; k < q; k++)
      for (let j = 0; j < r; j++)
        for (let l = 0; l < s; l++)
          for (let c = 0; c < kn; c++)
            out[((i * r + j) * (q * s) + (k * s + l)) * kn + c] =
              a.data[i * q + k]! * b.data[(j * s + l) * kn + c]!;
  return { data: out, shape: [p * r, q * s, ...kernel] };
}

/** y = x · Wᵀ for W [out, in], x [N, in]. */
export function refLinear(x: T64, w: T64): T64 {
  const [n, inF] = x.shape as [number, number];
  const outF = w.shape[0]!;
  const y = new Float64Array(n * outF);
  for (let a = 0; a < n; a++)
    for (let o = 0; o < outF; o++) {
      let acc = 0;
      for (let i = 0; i < inF; i++) acc += x.data[a * inF + i]! * w.data[o * inF + i]!;
      y[a * outF + o] = acc;
    }
  return { data: y, shape: [n, outF] };
}

export function refMatmul(a: T64, b: T64, transA: boolean, transB: boolean): T64 {
  const m = transA ? a.shape[1]! : a.shape[0]!;
  const k = transA ? a.shape[0]! : a.shape[1]!;
  const n = transB ? b.shape[0]! : b.shape[1]!;
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) {
        const av = transA ? a.data[p * m + i]! : a.data[i * k + p]!;
        const bv = transB ? b.data[j * k + p]! : b.data[p * n + j]!;
        acc += av * bv;
      }
      out[i * n + j] = acc;
    }
  return { data: out, shape: [m, n] };
}

export function refLowRankHadamard(a1: T64, b1: T64, a2: T64, b2: T64, s: number): T64 {
  const p1 = refMatmul(a1, b1, false, false);
  const p2 = refMatmul(a2, b2, false, false);
  const out = new Float64Array(p1.data.length);
  for (let i = 0; i < out.length; i++) out[i] = s * p1.data[i]! * p2.data[i]!;
  return { data: out, shape: p1.shape };
}

export function refTucker(core: T64, a: T64, b: T64): T64 {
  const [r1, r2] = core.shape as [number, number];
  const kernel = core.shape.slice(2);
  const kn = kernel.reduce((x, y) => x * y, 1);
  const p = a.shape[1]!;
  const q = b.shape[1]!;
  const out = new Float64Array(p * q * kn);
  for (let i = 0; i < r1; i++)
    for (let j = 0; j < r2; j++)
      for (let pp = 0; pp < p; pp++)
        for (let qq = 0; qq < q; qq++)
          for (let c = 0; c < kn; c++)
            out[(pp * q + qq) * kn + c] =
              out[(pp * q + qq) * kn + c]! +
              core.data[(i * r2 + j) * kn + c]! * a.data[i * p + pp]! * b.data[j * q + qq]!;
  return { data: out, shape: [p, q, ...kernel] };
}

export type Mode = "zeros" | "reflect" | "replicate" | "circular";

/** Pads one index the way torch.nn.functional.pad does; -1 means a zero. */
function padIndex(i: number, len: number, mode: Mode): number {
  if (i >= 0 && i < len) return i;
  if (mode === "zeros") return -1;
  if (mode === "replicate") return Math.min(Math.max(i, 0), len - 1);
  if (mode === "reflect") return i < 0 ? -i : 2 * (len - 1) - i;
  return ((i % len) + len) % len;
}

/** Direct 2-D convolution (no im2col) with explicit per-side padding. */
export function refConv2d(
  x: T64,
  w: T64,
  bias: T64 | null,
  stride: [number, number],
  pad: [number, number, number, number], // top, bottom, left, right
  dil: [number, number],
  groups: number,
  mode: Mode,
): T64 {
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [o, cg, kh, kw] = w.shape as [number, number, number, number];
  const hp = h + pad[0] + pad[1];
  const wp = wd + pad[2] + pad[3];
  const ho = Math.floor((hp - dil[0] * (kh - 1) - 1) / stride[0]) + 1;
  const wo = Math.floor((wp - dil[1] * (kw - 1) - 1) / stride[1]) + 1;
  const og = o / groups;
  const y = new Float64Array(n * o * ho * wo);
  for (let s = 0; s < n; s++)
    for (let oc = 0; oc < o; oc++) {
      const g = Math.floor(oc / og);
      for (let i = 0; i < ho; i++)
        for (let j = 0; j < wo; j++) {
          let acc = bias ? bias.data[oc]! : 0;
          for (let ci = 0; ci < cg; ci++)
            for (let a = 0; a < kh; a++)
              for (let b = 0; b < kw; b++) {
                const r = padIndex(i * stride[0] + a * dil[0] - pad[0], h, mode);
                const cc = padIndex(j * stride[1] + b * dil[1] - pad[2], wd, mode);
                if (r < 0 || cc < 0) continue;
                acc +=
                  x.data[((s * c + g * cg + ci) * h + r) * wd + cc]! *
                  w.data[((oc * cg + ci) * kh + a) * kw + b]!;
              }
          y[((s * o + oc) * ho + i) * wo + j] = acc;
        }
    }
  return { data: y, shape: [n, o, ho, wo] };
}

/**
 * Float64 SVD by one-sided Jacobi rotations (Hestenes), independent of src/: `a = u·diag(s)·vᵀ` with `s`
 * descending, `u [m, p]`, `v [n, p]`, `p = min(m, n)`. Columns of `u` for zero singular values are zero.
 */
export function refSvd(a: T64): { u: T64; s: Float64Array; v: T64 } {
  const [m, n] = a.shape as [number, number];
  if (m < n) {
    const t = new Float64Array(n * m);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) t[j * m + i] = a.data[i * n + j]!;
    const r = refSvd({ data: t, shape: [n, m] });
    return { u: r.v, s: r.s, v: r.u };
  }
  const w = Float64Array.from(a.data); // columns rotate in place
  const vv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) vv[i * n + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let i = 0; i < m; i++) {
          const x = w[i * n + p]!;
          const y = w[i * n + q]!;
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        if (gamma === 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < m; i++) {
          const x = w[i * n + p]!;
          const y = w[i * n + q]!;
          w[i * n + p] = c * x - s * y;
          w[i * n + q] = s * x + c * y;
        }
        for (let i = 0; i < n; i++) {
          const x = vv[i * n + p]!;
          const y = vv[i * n + q]!;
          vv[i * n + p] = c * x - s * y;
          vv[i * n + q] = s * x + c * y;
        }
      }
    }
    if (!rotated) break;
  }
  const norms = Array.from({ length: n }, (_, j) => {
    let s = 0;
    for (let i = 0; i < m; i++) s += w[i * n + j]! ** 2;
    return Math.sqrt(s);
  });
  const order = norms.map((_, j) => j).sort((x, y) => norms[y]! - norms[x]!);
  const u = new Float64Array(m * n);
  const v = new Float64Array(n * n);
  const s = new Float64Array(n);
  order.forEach((j, t) => {
    s[t] = norms[j]!;
    for (let i = 0; i < m; i++) u[i * n + t] = norms[j]! > 0 ? w[i * n + j]! / norms[j]! : 0;
    for (let i = 0; i < n; i++) v[i * n + t] = vv[i * n + j]!;
  });
  return { u: { data: u, shape: [m, n] }, s, v: { data: v, shape: [n, n] } };
}
