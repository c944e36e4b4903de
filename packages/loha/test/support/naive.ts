/**
 * Deliberately naive float64 reference implementations (direct loops from the definitions), used
 * to check the library's structured code paths independently of the kernels.
 */

/** ΔW = s·(a1·b1)⊙(a2·b2) for a1 [out,r1], b1 [r1,n], a2 [out,r2], b2 [r2,n] → flat [out·n]. */
export function naiveHadamardDelta(
  a1: ArrayLike<number>,
  b1: ArrayLike<number>,
  a2: ArrayLike<number>,
  b2: ArrayLike<number>,
  out: number,
  n: number,
  r1: number,
  r2: number,
  s: number,
): Float64Array {
  const d = new Float64Array(out * n);
  for (let o = 0; o < out; o++) {
    for (let k = 0; k < n; k++) {
      let p1 = 0;
      let p2 = 0;
      for (let i = 0; i < r1; i++) p1 += (a1[o * r1 + i] ?? 0) * (b1[i * n + k] ?? 0);
      for (let j = 0; j < r2; j++) p2 += (a2[o * r2 + j] ?? 0) * (b2[j * n + k] ?? 0);
      d[o * n + k] = s * p1 * p2;
    }
  }
  return d;
}

/** einsum("i j k, i p, j q -> p q k", t [r,r,kn], a [r,out], b [r,in]) → flat [out·in·kn]. */
export function naiveTucker(
  t: ArrayLike<number>,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  r: number,
  out: number,
  inF: number,
  kn: number,
): Float64Array {
  const d = new Float64Array(out * inF * kn);
  for (let p = 0; p < out; p++)
    for (let q = 0; q < inF; q++)
      for (let k = 0; k < kn; k++) {
        let acc = 0;
        for (let i = 0; i < r; i++)
          for (let j = 0; j < r; j++)
            acc += (t[(i * r + j) * kn + k] ?? 0) * (a[i * out + p] ?? 0) * (b[j * inF + q] ?? 0);
        d[(p * inF + q) * kn + k] = acc;
      }
  return d;
}

/** y = x·Wᵀ for x [N,in], W [out,in] → [N,out]. */
export function naiveLinear(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  n: number,
  inF: number,
  out: number,
): Float64Array {
  const y = new Float64Array(n * out);
  for (let r = 0; r < n; r++)
    for (let o = 0; o < out; o++) {
      let acc = 0;
      for (let k = 0; k < inF; k++) acc += (x[r * inF + k] ?? 0) * (w[o * inF + k] ?? 0);
      y[r * out + o] = acc;
    }
  return y;
}

/** Geometry of {@link naiveConv2d} (numeric zero padding only). */
export interface NaiveConv {
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly groups: number;
}

/**
 * Direct 2-D cross-correlation with zero padding: x [N,C,H,W], w [O,C/g,kh,kw] → [N,O,H',W'].
 * Conv1d is the special case W = kw = 1.
 */
export function naiveConv2d(
  x: ArrayLike<number>,
  xs: readonly [number, number, number, number],
  w: ArrayLike<number>,
  ws: readonly [number, number, number, number],
  g: NaiveConv,
): { data: Float64Array; shape: [number, number, number, number] } {
  const [n, c, h, wd] = xs;
  const [o, cg, kh, kw] = ws;
  const [sh, sw] = g.stride;
  const [ph, pw] = g.padding;
  const [dh, dw] = g.dilation;
  const ho = Math.floor((h + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const wo = Math.floor((wd + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  const og = o / g.groups;
  const y = new Float64Array(n * o * ho * wo);
  for (let b = 0; b < n; b++)
    for (let oc = 0; oc < o; oc++) {
      const grp = Math.floor(oc / og);
      for (let i = 0; i < ho; i++)
        for (let j = 0; j < wo; j++) {
          let acc = 0;
          for (let ic = 0; ic < cg; ic++) {
            const cin = grp * cg + ic;
            for (let u = 0; u < kh; u++) {
              const hi = i * sh - ph + u * dh;
              if (hi < 0 || hi >= h) continue;
              for (let v = 0; v < kw; v++) {
                const wi = j * sw - pw + v * dw;
                if (wi < 0 || wi >= wd) continue;
                acc +=
                  (x[((b * c + cin) * h + hi) * wd + wi] ?? 0) * (w[((oc * cg + ic) * kh + u) * kw + v] ?? 0);
              }
            }
          }
          y[((b * o + oc) * ho + i) * wo + j] = acc;
        }
    }
  return { data: y, shape: [n, o, ho, wo] };
}
