import {
  type ConvOptions,
  conv1dBackward,
  conv2dBackward,
  type FloatArray,
  formatShape,
  lowRankHadamard,
  lowRankHadamardBackward,
  matmul,
  reshape,
  type Tensor,
  tensor,
  tuckerRebuild,
  tuckerRebuildBackward,
} from "@lycoris-ts/kernels";
import { lohaDeltaWeight } from "./delta-weight";
import { type ResolvedLoHaFactors, resolveLoHaFactors } from "./factors";
import { allocLike, khatriRaoCols, khatriRaoRows } from "./khatri-rao";
import { adapterConvOptions, checkConvInput, linearRows } from "./layer-input";
import { linearPathFor } from "./linear-path";
import { LoHaMathError } from "./loha-math-error";
import { checkLayerShape } from "./param-shapes";
import type { LoHaApplyOptions, LoHaGradients, LoHaLayerShape, LoHaParams } from "./types";

/**
 * Factor gradients of `ΔW = s·(a1·b1) ⊙ (a2·b2)` for a linear layer without any `out × in`
 * temporary, from the Khatri–Rao form (`Akr[o, ij] = a1[o,i]·a2[o,j]`, `Bkr[ij, k] = b1[i,k]·b2[j,k]`):
 * with `Z = x·Bkrᵀ` and `U = dy·Akr` (both `[N, r1·r2]`), `G = dyᵀ·Z`, `H = Uᵀ·x`:
 * `dA1[o,i] = s Σⱼ a2[o,j] G[o,ij]`, `dA2[o,j] = s Σᵢ a1[o,i] G[o,ij]`,
 * `dB1[i,k] = s Σⱼ b2[j,k] H[ij,k]`, `dB2[j,k] = s Σᵢ b1[i,k] H[ij,k]`, and `dx = s·U·Bkr`.
 */
function factorisedLinearBackward<A extends FloatArray>(
  x2: Tensor<A>,
  dy2: Tensor<A>,
  f: ResolvedLoHaFactors<A>,
  scale: number,
): { dx: Tensor<A>; grads: Record<string, Tensor<A>> } {
  const out = f.w1a.shape[0] ?? 0;
  const inF = f.w1b.shape[1] ?? 0;
  const r1 = f.w1a.shape[1] ?? 0;
  const r2 = f.w2a.shape[1] ?? 0;
  const rr = r1 * r2;
  const akr = khatriRaoRows(f.w1a, f.w2a);
  const bkr = khatriRaoCols(f.w1b, f.w2b);
  const z = matmul(x2, bkr, { transB: true }); // [N, rr]
  const u = matmul(dy2, akr); // [N, rr]
  const g = matmul(dy2, z, { transA: true }).data; // [out, rr]
  const h = matmul(u, x2, { transA: true }).data; // [rr, in]
  const dx = matmul(u, bkr); // [N, in]
  const dxd = dx.data;
  for (let k = 0; k < dxd.length; k++) dxd[k] = (dxd[k] ?? 0) * scale;

  const a1 = f.w1a.data;
  const a2 = f.w2a.data;
  const b1 = f.w1b.data;
  const b2 = f.w2b.data;
  const dA1 = allocLike(a1, out * r1);
  const dA2 = allocLike(a2, out * r2);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < r1; i++) {
      for (let j = 0; j < r2; j++) {
        const gv = (g[o * rr + i * r2 + j] ?? 0) * scale;
        dA1[o * r1 + i] = (dA1[o * r1 + i] ?? 0) + (a2[o * r2 + j] ?? 0) * gv;
        dA2[o * r2 + j] = (dA2[o * r2 + j] ?? 0) + (a1[o * r1 + i] ?? 0) * gv;
      }
    }
  }
  const dB1 = allocLike(b1, r1 * inF);
  const dB2 = allocLike(b2, r2 * inF);
  for (let i = 0; i < r1; i++) {
    for (let j = 0; j < r2; j++) {
      const hb = (i * r2 + j) * inF;
      for (let k = 0; k < inF; k++) {
        const hv = (h[hb + k] ?? 0) * scale;
        dB1[i * inF + k] = (dB1[i * inF + k] ?? 0) + (b2[j * inF + k] ?? 0) * hv;
        dB2[j * inF + k] = (dB2[j * inF + k] ?? 0) + (b1[i * inF + k] ?? 0) * hv;
      }
    }
  }
  return {
    dx,
    grads: {
      hada_w1_a: tensor(dA1, f.w1a.shape),
      hada_w1_b: tensor(dB1, f.w1b.shape),
      hada_w2_a: tensor(dA2, f.w2a.shape),
      hada_w2_b: tensor(dB2, f.w2b.shape),
    },
  };
}

/**
 * Factor gradients from `dΔW` (shaped like ΔW, *before* scaling), recomputing the Hadamard
 * terms one at a time (never both full products alive), as LyCORIS's `HadaWeight` /
 * `HadaWeightCP` custom autograd functions do.
 */
function factorGradsFromDelta<A extends FloatArray>(
  dDelta: Tensor<A>,
  f: ResolvedLoHaFactors<A>,
  layer: LoHaLayerShape,
  scale: number,
): Record<string, Tensor<A>> {
  if (f.t1 !== null && f.t2 !== null) {
    const coreShape = [layer.outFeatures, layer.inFeatures, ...f.t1.shape.slice(2)];
    const g = dDelta.data;
    // dL/dT1 = s · dΔW ⊙ T2, with T2 rebuilt here and released before T1 is rebuilt.
    const t2full = tuckerRebuild(f.t2, f.w2a, f.w2b);
    const e2 = t2full.data;
    for (let k = 0; k < e2.length; k++) e2[k] = (g[k] ?? 0) * scale * (e2[k] ?? 0);
    const g1 = tuckerRebuildBackward(f.t1, f.w1a, f.w1b, reshape(t2full, coreShape));
    const t1full = tuckerRebuild(f.t1, f.w1a, f.w1b);
    const e1 = t1full.data;
    for (let k = 0; k < e1.length; k++) e1[k] = (g[k] ?? 0) * scale * (e1[k] ?? 0);
    const g2 = tuckerRebuildBackward(f.t2, f.w2a, f.w2b, reshape(t1full, coreShape));
    return {
      hada_w1_a: g1.da,
      hada_w1_b: g1.db,
      hada_w2_a: g2.da,
      hada_w2_b: g2.db,
      hada_t1: g1.dCore,
      hada_t2: g2.dCore,
    };
  }
  const flat = reshape(dDelta, [layer.outFeatures, f.w1b.shape[1] ?? 0]);
  const g = lowRankHadamardBackward(f.w1a, f.w1b, f.w2a, f.w2b, flat, scale);
  return { hada_w1_a: g.da1, hada_w1_b: g.db1, hada_w2_a: g.da2, hada_w2_b: g.db2 };
}

/**
 * Gradients of {@link lohaForward}'s output with respect to the input and every LoHa factor, for
 * an upstream gradient `dy` shaped like that output. Same arguments as the forward. The Hadamard products are recomputed rather than cached; linear layers
 * use the factorised (Khatri–Rao) form when it is cheaper, so no `out × in` temporary is needed.
 */
export function lohaBackward<A extends FloatArray>(
  x: Tensor<NoInfer<A>>,
  params: LoHaParams<A>,
  layer: LoHaLayerShape,
  scale: number,
  dy: Tensor<NoInfer<A>>,
  conv?: ConvOptions,
  o?: LoHaApplyOptions,
): LoHaGradients<A> {
  checkLayerShape(layer);
  const f = resolveLoHaFactors(params, layer);
  if (layer.kind === "linear") {
    const rows = linearRows(x, layer, "x");
    const wantDy = [...x.shape.slice(0, -1), layer.outFeatures];
    if (dy.data.length !== rows * layer.outFeatures || dy.shape[dy.shape.length - 1] !== layer.outFeatures) {
      throw new LoHaMathError(`dy has shape ${formatShape(dy.shape)}, expected ${formatShape(wantDy)}`, {
        field: "dy",
        expected: formatShape(wantDy),
        received: formatShape(dy.shape),
      });
    }
    const x2 = reshape(x, [rows, layer.inFeatures]);
    const dy2 = reshape(dy, [rows, layer.outFeatures]);
    const path = linearPathFor(o?.path, rows, layer, f);
    if (path === "factorised") {
      const r = factorisedLinearBackward(x2, dy2, f, scale);
      return { dx: reshape(r.dx, x.shape), grads: r.grads };
    }
    const delta = lowRankHadamard(f.w1a, f.w1b, f.w2a, f.w2b, scale);
    const dx = matmul(dy2, delta); // [N, in]
    const dDelta = matmul(dy2, x2, { transA: true }); // [out, in]
    return { dx: reshape(dx, x.shape), grads: factorGradsFromDelta(dDelta, f, layer, scale) };
  }
  const opts = adapterConvOptions(layer, conv);
  checkConvInput(x, layer, opts.groups, "x");
  const delta = lohaDeltaWeight(params, layer, scale);
  const b = layer.kind === "conv1d" ? conv1dBackward(x, delta, dy, opts) : conv2dBackward(x, delta, dy, opts);
  return { dx: b.dx, grads: factorGradsFromDelta(b.dw, f, layer, scale) };
}
