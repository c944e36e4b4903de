import { type FloatArray, formatShape, type Tensor } from "@lycoris-ts/kernels";
import { LoHaMathError } from "./loha-math-error";
import type { LoHaLayerShape, LoHaParams } from "./types";

/** The LoHa factors of one layer, resolved and shape-checked. */
export interface ResolvedLoHaFactors<A extends FloatArray> {
  readonly w1a: Tensor<A>;
  readonly w1b: Tensor<A>;
  readonly w2a: Tensor<A>;
  readonly w2b: Tensor<A>;
  /** Tucker cores, present only in the effective-conv form. */
  readonly t1: Tensor<A> | null;
  readonly t2: Tensor<A> | null;
}

function need<A extends FloatArray>(params: LoHaParams<A>, name: string): Tensor<A> {
  const t = params[name];
  if (t === undefined) {
    throw new LoHaMathError(`missing LoHa parameter ${name}`, { field: name, expected: "a tensor" });
  }
  return t;
}

function expectShape(name: string, t: Tensor<FloatArray>, shape: readonly number[]): void {
  const ok = t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
  if (!ok) {
    throw new LoHaMathError(
      `LoHa parameter ${name} has shape ${formatShape(t.shape)}, expected ${formatShape(shape)}`,
      { field: name, expected: formatShape(shape), received: formatShape(t.shape) },
    );
  }
}

/**
 * Picks the LoHa factors out of `params` and checks their shapes against the layer. The form is
 * decided by the parameters themselves: `hada_t1`/`hada_t2` present ⇒ Tucker (effective conv).
 * The two Hadamard terms may have different ranks (`hada_w1_*` vs `hada_w2_*`).
 */
export function resolveLoHaFactors<A extends FloatArray>(
  params: LoHaParams<A>,
  layer: LoHaLayerShape,
): ResolvedLoHaFactors<A> {
  const w1a = need(params, "hada_w1_a");
  const w1b = need(params, "hada_w1_b");
  const w2a = need(params, "hada_w2_a");
  const w2b = need(params, "hada_w2_b");
  const t1 = params.hada_t1 ?? null;
  const t2 = params.hada_t2 ?? null;
  const out = layer.outFeatures;
  const inF = layer.inFeatures;
  const r1 = w1a.shape[layer.kind !== "linear" && t1 !== null ? 0 : 1] ?? 0;
  const r2 = w2a.shape[layer.kind !== "linear" && t1 !== null ? 0 : 1] ?? 0;
  if ((t1 === null) !== (t2 === null)) {
    throw new LoHaMathError("hada_t1 and hada_t2 must both be present or both absent", {
      field: t1 === null ? "hada_t1" : "hada_t2",
      expected: "both Tucker cores",
    });
  }
  if (t1 !== null && t2 !== null) {
    if (layer.kind === "linear") {
      throw new LoHaMathError("a linear layer has no Tucker (effective conv) form", {
        field: "hada_t1",
        expected: "no hada_t1/hada_t2 for linear",
      });
    }
    const k = layer.kind === "conv1d" ? [layer.kernelSize[0] ?? 1, 1] : [...layer.kernelSize];
    expectShape("hada_w1_a", w1a, [r1, out]);
    expectShape("hada_w1_b", w1b, [r1, inF]);
    expectShape("hada_w2_a", w2a, [r2, out]);
    expectShape("hada_w2_b", w2b, [r2, inF]);
    expectShape("hada_t1", t1, [r1, r1, ...k]);
    expectShape("hada_t2", t2, [r2, r2, ...k]);
    return { w1a, w1b, w2a, w2b, t1, t2 };
  }
  let flatIn = inF;
  for (const k of layer.kernelSize) flatIn *= k;
  expectShape("hada_w1_a", w1a, [out, r1]);
  expectShape("hada_w1_b", w1b, [r1, flatIn]);
  expectShape("hada_w2_a", w2a, [out, r2]);
  expectShape("hada_w2_b", w2b, [r2, flatIn]);
  return { w1a, w1b, w2a, w2b, t1: null, t2: null };
}
