import {
  type FloatArray,
  matmul,
  reshape,
  type Tensor,
  tuckerRebuild,
  tuckerRebuildBackward,
} from "@lycoris-ts/kernels";
import { LoKrError } from "./errors";
import type { LoKrLayerShape, LoKrStructure } from "./types";

/** Internal: the structure of a parameter set, inferred from its names and shapes and checked against the layer. */
export interface ResolvedStructure extends LoKrStructure {
  /** `∏ kernelSize` (1 for linear). */
  readonly kernelNumel: number;
  /** Whether the delta weight has PEFT's permuted Conv1d layout (full 3-D `lokr_w2`) under `layout: "peft"`. */
  readonly peftConv1dQuirk: boolean;
}

function need<A extends FloatArray>(params: Readonly<Record<string, Tensor<A>>>, name: string): Tensor<A> {
  const t = params[name];
  if (t === undefined) throw new LoKrError(`LoKr parameter '${name}' is missing`);
  return t;
}

function dims(t: Tensor<FloatArray>, name: string, rank: number): readonly number[] {
  if (t.shape.length !== rank) {
    throw new LoKrError(`LoKr parameter '${name}' must be ${rank}-D, got shape [${t.shape.join(", ")}]`);
  }
  return t.shape;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * Internal: reads which factors are present (`lokr_w1` or `lokr_w1_a/b`; `lokr_w2`, `lokr_w2_a/b`, or with
 * `lokr_t2`) and checks that their shapes form a valid LoKr adapter for `layer`.
 */
export function resolveStructure<A extends FloatArray>(
  params: Readonly<Record<string, Tensor<A>>>,
  layer: LoKrLayerShape,
): ResolvedStructure {
  const kernel = layer.kernelSize;
  const kernelNumel = kernel.reduce((a, b) => a * b, 1);
  let l: number;
  let m: number;
  let w1: LoKrStructure["w1"];
  if (params.lokr_w1 !== undefined) {
    w1 = "full";
    [l, m] = dims(params.lokr_w1, "lokr_w1", 2) as [number, number];
  } else {
    w1 = "lowrank";
    const a = dims(need(params, "lokr_w1_a"), "lokr_w1_a", 2);
    const b = dims(need(params, "lokr_w1_b"), "lokr_w1_b", 2);
    if (a[1] !== b[0]) {
      throw new LoKrError(`lokr_w1_a [${a.join(", ")}] and lokr_w1_b [${b.join(", ")}] disagree on the rank`);
    }
    l = a[0]!;
    m = b[1]!;
  }
  let k: number;
  let n: number;
  let w2: LoKrStructure["w2"];
  if (params.lokr_w2 !== undefined) {
    w2 = "full";
    const s = dims(params.lokr_w2, "lokr_w2", 2 + kernel.length);
    if (!sameShape(s.slice(2), kernel)) {
      throw new LoKrError(
        `lokr_w2 has kernel dims [${s.slice(2).join(", ")}], the layer's kernel is [${kernel.join(", ")}]`,
      );
    }
    k = s[0]!;
    n = s[1]!;
  } else if (params.lokr_t2 !== undefined) {
    w2 = "tucker";
    if (layer.kind === "linear") throw new LoKrError("lokr_t2 is only valid for convolution layers");
    const core = params.lokr_t2.shape;
    const coreKernel = layer.kind === "conv1d" ? [kernel[0]!, 1] : kernel;
    const a = dims(need(params, "lokr_w2_a"), "lokr_w2_a", 2);
    const b = dims(need(params, "lokr_w2_b"), "lokr_w2_b", 2);
    if (!sameShape(core, [a[0]!, b[0]!, ...coreKernel])) {
      throw new LoKrError(
        `lokr_t2 must have shape [${[a[0], b[0], ...coreKernel].join(", ")}], got [${core.join(", ")}]`,
      );
    }
    k = a[1]!;
    n = b[1]!;
  } else {
    w2 = "lowrank";
    const a = dims(need(params, "lokr_w2_a"), "lokr_w2_a", 2);
    const b = dims(need(params, "lokr_w2_b"), "lokr_w2_b", 2);
    if (a[1] !== b[0]) {
      throw new LoKrError(`lokr_w2_a [${a.join(", ")}] and lokr_w2_b [${b.join(", ")}] disagree on the rank`);
    }
    if (b[1]! % kernelNumel !== 0) {
      throw new LoKrError(`lokr_w2_b has ${b[1]} columns, not a multiple of the kernel size ${kernelNumel}`);
    }
    k = a[0]!;
    n = b[1]! / kernelNumel;
  }
  if (l * k !== layer.outFeatures || m * n !== layer.inFeatures) {
    throw new LoKrError(
      `LoKr factors give a [${l * k}, ${m * n}] weight (out ${l}·${k}, in ${m}·${n}), the layer is [${layer.outFeatures}, ${layer.inFeatures}]`,
    );
  }
  return {
    w1,
    w2,
    outFactors: [l, k],
    inFactors: [m, n],
    kernelNumel,
    peftConv1dQuirk: layer.kind === "conv1d" && w2 === "full",
  };
}

/** Internal: the left factor `w1` as an `[l, m]` matrix. */
export function rebuildW1<A extends FloatArray>(params: Readonly<Record<string, Tensor<A>>>): Tensor<A> {
  if (params.lokr_w1 !== undefined) return params.lokr_w1;
  return matmul(need(params, "lokr_w1_a"), need(params, "lokr_w1_b"));
}

/** Internal: the right factor `w2` as a `[k, n, ...kernel]` tensor (the kernel lives only in w2). */
export function rebuildW2<A extends FloatArray>(
  params: Readonly<Record<string, Tensor<A>>>,
  layer: LoKrLayerShape,
  s: ResolvedStructure,
): Tensor<A> {
  const shape = [s.outFactors[1], s.inFactors[1], ...layer.kernelSize];
  if (s.w2 === "full") return reshape(need(params, "lokr_w2"), shape);
  if (s.w2 === "tucker") {
    return reshape(
      tuckerRebuild(need(params, "lokr_t2"), need(params, "lokr_w2_a"), need(params, "lokr_w2_b")),
      shape,
    );
  }
  return reshape(matmul(need(params, "lokr_w2_a"), need(params, "lokr_w2_b")), shape);
}

/**
 * Internal: turns gradients w.r.t. the rebuilt factors (`dw1 [l, m]`, `dw2 [k, n, ...kernel]`) into gradients
 * w.r.t. the stored parameters.
 */
export function chainFactorGrads<A extends FloatArray>(
  params: Readonly<Record<string, Tensor<A>>>,
  s: ResolvedStructure,
  dw1: Tensor<A>,
  dw2: Tensor<A>,
): Record<string, Tensor<A>> {
  const grads: Record<string, Tensor<A>> = {};
  if (s.w1 === "full") {
    grads.lokr_w1 = dw1;
  } else {
    const a = need(params, "lokr_w1_a");
    const b = need(params, "lokr_w1_b");
    grads.lokr_w1_a = matmul(dw1, b, { transB: true });
    grads.lokr_w1_b = matmul(a, dw1, { transA: true });
  }
  if (s.w2 === "full") {
    grads.lokr_w2 = reshape(dw2, need(params, "lokr_w2").shape);
  } else if (s.w2 === "tucker") {
    const core = need(params, "lokr_t2");
    const g = tuckerRebuildBackward(
      core,
      need(params, "lokr_w2_a"),
      need(params, "lokr_w2_b"),
      reshape(dw2, [s.outFactors[1], s.inFactors[1], ...core.shape.slice(2)]),
    );
    grads.lokr_w2_a = g.da;
    grads.lokr_w2_b = g.db;
    grads.lokr_t2 = g.dCore;
  } else {
    const a = need(params, "lokr_w2_a");
    const b = need(params, "lokr_w2_b");
    const flat = reshape(dw2, [s.outFactors[1], s.inFactors[1] * s.kernelNumel]);
    grads.lokr_w2_a = matmul(flat, b, { transB: true });
    grads.lokr_w2_b = matmul(a, flat, { transA: true });
  }
  return grads;
}
