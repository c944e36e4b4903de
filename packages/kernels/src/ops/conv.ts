import { KernelsError } from "../errors";
import { allocLike, type FloatArray, type Tensor } from "../tensor";
import { gemm } from "./gemm";

/** How the border is filled, as `torch.nn.Conv*d(padding_mode=…)`. */
export type PaddingMode = "zeros" | "reflect" | "replicate" | "circular";

/**
 * Convolution options with torch semantics. Arrays have one entry per spatial dim (a single entry is
 * broadcast). `"same"` pads `total = dilation·(k−1)` with `total//2` before and the rest after (as torch;
 * stride must be 1); `"valid"` pads nothing.
 */
export interface ConvOptions {
  readonly stride: readonly number[];
  readonly padding: readonly number[] | "same" | "valid";
  readonly dilation: readonly number[];
  readonly groups: number;
  readonly paddingMode: PaddingMode;
}

interface Geometry {
  n: number;
  c: number;
  h: number;
  w: number;
  o: number;
  cg: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  padT: number;
  padL: number;
  hp: number;
  wp: number;
  ho: number;
  wo: number;
  groups: number;
  mode: PaddingMode;
}

function perDim(op: string, name: string, v: readonly number[], dims: number): number[] {
  if (v.length === dims) return [...v];
  if (v.length === 1) return new Array<number>(dims).fill(v[0]!);
  throw new KernelsError(op, `${name} needs ${dims} entries, got [${v.join(", ")}]`);
}

function geometry(
  op: string,
  xShape: readonly number[],
  wShape: readonly number[],
  o: ConvOptions,
  dims: 1 | 2,
): Geometry {
  if (xShape.length !== dims + 2 || wShape.length !== dims + 2) {
    throw new KernelsError(
      op,
      `x must be [N,C,${dims === 1 ? "L" : "H,W"}] and w [O,C/g,...k]; got [${xShape}] and [${wShape}]`,
    );
  }
  const [n, c] = xShape as [number, number];
  const [oc, cg] = wShape as [number, number];
  const h = dims === 2 ? xShape[2]! : 1;
  const w = xShape[dims + 1]!;
  const kh = dims === 2 ? wShape[2]! : 1;
  const kw = wShape[dims + 1]!;
  const groups = o.groups;
  if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0 || oc % groups !== 0) {
    throw new KernelsError(op, `groups=${groups} must divide in_channels=${c} and out_channels=${oc}`);
  }
  if (cg !== c / groups)
    throw new KernelsError(op, `w has ${cg} input channels per group, expected ${c / groups}`);
  const stride = perDim(op, "stride", o.stride, dims);
  const dil = perDim(op, "dilation", o.dilation, dims);
  const ks = dims === 2 ? [kh, kw] : [kw];
  let before: number[];
  let after: number[];
  if (o.padding === "valid") {
    before = new Array<number>(dims).fill(0);
    after = [...before];
  } else if (o.padding === "same") {
    if (stride.some((s) => s !== 1))
      throw new KernelsError(op, `padding "same" needs stride 1, got [${stride}]`);
    const total = ks.map((k, i) => dil[i]! * (k - 1));
    before = total.map((t) => Math.floor(t / 2));
    after = total.map((t, i) => t - before[i]!);
  } else {
    before = perDim(op, "padding", o.padding, dims);
    after = [...before];
  }
  const sizes = dims === 2 ? [h, w] : [w];
  for (let i = 0; i < dims; i++) {
    const pad = Math.max(before[i]!, after[i]!);
    const size = sizes[i]!;
    if (o.paddingMode === "reflect" && pad >= size && pad > 0) {
      throw new KernelsError(op, `reflect padding ${pad} must be smaller than the input size ${size}`);
    }
    if (o.paddingMode === "circular" && pad > size) {
      throw new KernelsError(op, `circular padding ${pad} must not exceed the input size ${size}`);
    }
  }
  const [padT, padB] = dims === 2 ? [before[0]!, after[0]!] : [0, 0];
  const padL = before[dims - 1]!;
  const padR = after[dims - 1]!;
  const [sh, sw] = dims === 2 ? [stride[0]!, stride[1]!] : [1, stride[0]!];
  const [dh, dw] = dims === 2 ? [dil[0]!, dil[1]!] : [1, dil[0]!];
  const hp = h + padT + padB;
  const wp = w + padL + padR;
  const ho = Math.floor((hp - dh * (kh - 1) - 1) / sh) + 1;
  const wo = Math.floor((wp - dw * (kw - 1) - 1) / sw) + 1;
  if (ho < 1 || wo < 1) throw new KernelsError(op, `the kernel does not fit the padded input [${hp}, ${wp}]`);
  return {
    n,
    c,
    h,
    w,
    o: oc,
    cg,
    kh,
    kw,
    sh,
    sw,
    dh,
    dw,
    padT,
    padL,
    hp,
    wp,
    ho,
    wo,
    groups,
    mode: o.paddingMode,
  };
}

/** Source index of padded position `i` (−1 for a zero), for a dim of length `len` padded by `pad` before. */
function sourceIndex(i: number, pad: number, len: number, mode: PaddingMode): number {
  let j = i - pad;
  if (j >= 0 && j < len) return j;
  switch (mode) {
    case "zeros":
      return -1;
    case "replicate":
      return j < 0 ? 0 : len - 1;
    case "reflect":
      if (len === 1) return 0;
      return j < 0 ? -j : 2 * (len - 1) - j;
    case "circular":
      j %= len;
      return j < 0 ? j + len : j;
  }
}

function indexMaps(g: Geometry): { rows: Int32Array; cols: Int32Array } {
  const rows = new Int32Array(g.hp);
  for (let i = 0; i < g.hp; i++) rows[i] = sourceIndex(i, g.padT, g.h, g.mode);
  const cols = new Int32Array(g.wp);
  for (let i = 0; i < g.wp; i++) cols[i] = sourceIndex(i, g.padL, g.w, g.mode);
  return { rows, cols };
}

/**
 * im2col of one sample and group into `col` viewed as [cg·kh·kw, rowStride]: this sample's ho·wo
 * columns start at `colOffset`. Reads straight from x through the padding maps.
 */
function im2col(
  x: FloatArray,
  g: Geometry,
  maps: { rows: Int32Array; cols: Int32Array },
  sample: number,
  group: number,
  col: FloatArray,
  rowStride: number,
  colOffset: number,
): void {
  for (let ci = 0; ci < g.cg; ci++) {
    const plane = (sample * g.c + group * g.cg + ci) * g.h * g.w;
    for (let ki = 0; ki < g.kh; ki++) {
      for (let kj = 0; kj < g.kw; kj++) {
        const rowOff = ((ci * g.kh + ki) * g.kw + kj) * rowStride + colOffset;
        for (let oh = 0; oh < g.ho; oh++) {
          const sr = maps.rows[oh * g.sh + ki * g.dh]!;
          const base = rowOff + oh * g.wo;
          if (sr < 0) {
            col.fill(0, base, base + g.wo);
            continue;
          }
          const srcRow = plane + sr * g.w;
          for (let ow = 0; ow < g.wo; ow++) {
            const sc = maps.cols[ow * g.sw + kj * g.dw]!;
            col[base + ow] = sc < 0 ? 0 : x[srcRow + sc]!;
          }
        }
      }
    }
  }
}

/** Adjoint of {@link im2col}: scatter-add col back into dx (padding positions fold onto their sources). */
function col2im(
  col: FloatArray,
  g: Geometry,
  maps: { rows: Int32Array; cols: Int32Array },
  sample: number,
  group: number,
  dx: FloatArray,
  rowStride: number,
  colOffset: number,
): void {
  for (let ci = 0; ci < g.cg; ci++) {
    const plane = (sample * g.c + group * g.cg + ci) * g.h * g.w;
    for (let ki = 0; ki < g.kh; ki++) {
      for (let kj = 0; kj < g.kw; kj++) {
        const rowOff = ((ci * g.kh + ki) * g.kw + kj) * rowStride + colOffset;
        for (let oh = 0; oh < g.ho; oh++) {
          const sr = maps.rows[oh * g.sh + ki * g.dh]!;
          if (sr < 0) continue;
          const base = rowOff + oh * g.wo;
          const dstRow = plane + sr * g.w;
          for (let ow = 0; ow < g.wo; ow++) {
            const sc = maps.cols[ow * g.sw + kj * g.dw]!;
            if (sc >= 0) dx[dstRow + sc] = dx[dstRow + sc]! + col[base + ow]!;
          }
        }
      }
    }
  }
}

/**
 * Samples per im2col batch: several samples share one GEMM (bigger, cheaper per element than one call
 * per sample, which mattered for small feature maps), bounded so the column buffer stays under
 * {@link MAX_COL_FLOATS} floats (16 MB in float32).
 */
const MAX_COL_FLOATS = 1 << 22;

function samplesPerChunk(g: Geometry, kk: number, hw: number): number {
  return Math.max(1, Math.min(g.n, Math.floor(MAX_COL_FLOATS / Math.max(1, kk * hw))));
}

function convForward<A extends FloatArray>(
  op: string,
  x: Tensor<A>,
  w: Tensor<A>,
  bias: Tensor<A> | null,
  o: ConvOptions,
  dims: 1 | 2,
): Tensor<A> {
  const g = geometry(op, x.shape, w.shape, o, dims);
  if (bias && bias.data.length !== g.o)
    throw new KernelsError(op, `bias must have ${g.o} entries, got [${bias.shape}]`);
  const og = g.o / g.groups;
  const kk = g.cg * g.kh * g.kw;
  const hw = g.ho * g.wo;
  const maps = indexMaps(g);
  const y = allocLike(x.data, g.n * g.o * hw);
  const chunk = samplesPerChunk(g, kk, hw);
  const col = allocLike(x.data, kk * chunk * hw);
  const out = allocLike(x.data, og * chunk * hw);
  for (let s0 = 0; s0 < g.n; s0 += chunk) {
    const cs = Math.min(chunk, g.n - s0);
    const stride = cs * hw;
    for (let gr = 0; gr < g.groups; gr++) {
      for (let s = 0; s < cs; s++) im2col(x.data, g, maps, s0 + s, gr, col, stride, s * hw);
      const wg = w.data.subarray(gr * og * kk, (gr + 1) * og * kk);
      gemm(wg, col.subarray(0, kk * stride), og, stride, kk, false, false, out.subarray(0, og * stride));
      // out is [og, cs, hw]; y is [n, o, hw]
      for (let oc = 0; oc < og; oc++) {
        const bv = bias ? bias.data[gr * og + oc]! : 0;
        for (let s = 0; s < cs; s++) {
          const src = oc * stride + s * hw;
          const dst = ((s0 + s) * g.o + gr * og + oc) * hw;
          for (let i = 0; i < hw; i++) y[dst + i] = out[src + i]! + bv;
        }
      }
    }
  }
  const shape = dims === 2 ? [g.n, g.o, g.ho, g.wo] : [g.n, g.o, g.wo];
  return { data: y, shape };
}

/** Gradients of a convolution. */
export interface ConvGrads<A extends FloatArray> {
  readonly dx: Tensor<A>;
  readonly dw: Tensor<A>;
  readonly db: Tensor<A>;
}

/**
 * Which gradients a conv backward computes. A frozen base layer needs only `input`; skipping the
 * weight gradient saves one of the two GEMMs and the im2col. Skipped gradients come back as zeros.
 */
export interface ConvBackwardOptions {
  /** Compute `dx` (default true). */
  readonly input?: boolean;
  /** Compute `dw` and `db` (default true). */
  readonly weight?: boolean;
}

function convBackward<A extends FloatArray>(
  op: string,
  x: Tensor<A>,
  w: Tensor<A>,
  dy: Tensor<A>,
  o: ConvOptions,
  dims: 1 | 2,
  need: ConvBackwardOptions,
): ConvGrads<A> {
  const g = geometry(op, x.shape, w.shape, o, dims);
  const og = g.o / g.groups;
  const kk = g.cg * g.kh * g.kw;
  const hw = g.ho * g.wo;
  if (dy.data.length !== g.n * g.o * hw) {
    const want = dims === 2 ? [g.n, g.o, g.ho, g.wo] : [g.n, g.o, g.wo];
    throw new KernelsError(op, `dy must be [${want}], got [${dy.shape}]`);
  }
  const wantInput = need.input ?? true;
  const wantWeight = need.weight ?? true;
  const maps = indexMaps(g);
  const like = x.data;
  const dx = allocLike(like, x.data.length);
  const dw = allocLike(like, w.data.length);
  const db = allocLike(like, g.o);
  const chunk = samplesPerChunk(g, kk, hw);
  const col = allocLike(like, kk * chunk * hw);
  const dyc = allocLike(like, og * chunk * hw);
  const dwTmp = allocLike(like, og * kk);
  for (let s0 = 0; s0 < g.n; s0 += chunk) {
    const cs = Math.min(chunk, g.n - s0);
    const stride = cs * hw;
    for (let gr = 0; gr < g.groups; gr++) {
      // gather dy of this group into [og, cs, hw]
      for (let oc = 0; oc < og; oc++) {
        for (let s = 0; s < cs; s++) {
          const src = ((s0 + s) * g.o + gr * og + oc) * hw;
          dyc.set(dy.data.subarray(src, src + hw), oc * stride + s * hw);
        }
      }
      const dyg = dyc.subarray(0, og * stride);
      if (wantWeight) {
        for (let s = 0; s < cs; s++) im2col(x.data, g, maps, s0 + s, gr, col, stride, s * hw);
        gemm(dyg, col.subarray(0, kk * stride), og, kk, stride, false, true, dwTmp);
        const wOff = gr * og * kk;
        for (let i = 0; i < og * kk; i++) dw[wOff + i] = dw[wOff + i]! + dwTmp[i]!;
        for (let oc = 0; oc < og; oc++) {
          let acc = 0;
          for (let i = oc * stride; i < (oc + 1) * stride; i++) acc += dyg[i]!;
          db[gr * og + oc] = db[gr * og + oc]! + acc;
        }
      }
      if (wantInput) {
        const wg = w.data.subarray(gr * og * kk, (gr + 1) * og * kk);
        const dcol = col.subarray(0, kk * stride);
        gemm(wg, dyg, kk, stride, og, true, false, dcol);
        for (let s = 0; s < cs; s++) col2im(dcol, g, maps, s0 + s, gr, dx, stride, s * hw);
      }
    }
  }
  return {
    dx: { data: dx, shape: [...x.shape] },
    dw: { data: dw, shape: [...w.shape] },
    db: { data: db, shape: [g.o] },
  };
}

/** `torch.nn.functional.conv1d` semantics (plus `paddingMode`): x [N,C,L], w [O,C/g,k] → [N,O,L']. */
export function conv1d<A extends FloatArray>(
  x: Tensor<A>,
  w: Tensor<A>,
  bias: Tensor<A> | null,
  o: ConvOptions,
): Tensor<A> {
  return convForward("conv1d", x, w, bias, o, 1);
}

/** `torch.nn.functional.conv2d` semantics (plus `paddingMode`): x [N,C,H,W], w [O,C/g,kh,kw] → [N,O,H',W']. */
export function conv2d<A extends FloatArray>(
  x: Tensor<A>,
  w: Tensor<A>,
  bias: Tensor<A> | null,
  o: ConvOptions,
): Tensor<A> {
  return convForward("conv2d", x, w, bias, o, 2);
}

/** Gradients of {@link conv1d} with respect to x, w and the bias, given `dy`. */
export function conv1dBackward<A extends FloatArray>(
  x: Tensor<A>,
  w: Tensor<A>,
  dy: Tensor<A>,
  o: ConvOptions,
  need: ConvBackwardOptions = {},
): ConvGrads<A> {
  return convBackward("conv1dBackward", x, w, dy, o, 1, need);
}

/** Gradients of {@link conv2d} with respect to x, w and the bias, given `dy`. */
export function conv2dBackward<A extends FloatArray>(
  x: Tensor<A>,
  w: Tensor<A>,
  dy: Tensor<A>,
  o: ConvOptions,
  need: ConvBackwardOptions = {},
): ConvGrads<A> {
  return convBackward("conv2dBackward", x, w, dy, o, 2, need);
}
