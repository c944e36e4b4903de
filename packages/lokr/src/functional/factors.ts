import {
  type FloatArray,
  formatShape,
  matmul,
  numel,
  reshape,
  sameShape,
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
  if (t === undefined) {
    throw new LoKrError("missing_parameter", `LoKr parameter '${name}' is missing`, {
      field: name,
      expected: "a tensor",
      received: "nothing",
    });
  }
  return t;
}

function dims(t: Tensor<FloatArray>, name: string, rank: number): readonly number[] {
  if (t.shape.length !== rank) {
    throw new LoKrError(
      "shape_mismatch",
      `LoKr parameter '${name}' must be ${rank}-D, got shape ${formatShape(t.shape)}`,
      { field: name, expected: `${rank} dims`, received: formatShape(t.shape) },
    );
  }
  return t.shape;
}

function rankMismatch(factor: string, a: readonly number[], b: readonly number[]): LoKrError {
  return new LoKrError(
    "shape_mismatch",
    `${factor}_a ${formatShape(a)} and ${factor}_b ${formatShape(b)} disagree on the rank`,
    { field: `${factor}_b`, expected: `${a[1]} rows (the rank of ${factor}_a)`, received: formatShape(b) },
  );
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
  const kernelNumel = numel(kernel);
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
      throw rankMismatch("lokr_w1", a, b);
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
        "shape_mismatch",
        `lokr_w2 has kernel dims ${formatShape(s.slice(2))}, the layer's kernel is ${formatShape(kernel)}`,
        { field: "lokr_w2", expected: `kernel dims ${formatShape(kernel)}`, received: formatShape(s) },
      );
    }
    k = s[0]!;
    n = s[1]!;
  } else if (params.lokr_t2 !== undefined) {
    w2 = "tucker";
    if (layer.kind === "linear") {
      throw new LoKrError("shape_mismatch", "lokr_t2 is only valid for convolution layers", {
        field: "lokr_t2",
        expected: "no Tucker core on a linear layer",
        received: formatShape(params.lokr_t2.shape),
      });
    }
    const core = params.lokr_t2.shape;
    const coreKernel = layer.kind === "conv1d" ? [kernel[0]!, 1] : kernel;
    const a = dims(need(params, "lokr_w2_a"), "lokr_w2_a", 2);
    const b = dims(need(params, "lokr_w2_b"), "lokr_w2_b", 2);
    if (!sameShape(core, [a[0]!, b[0]!, ...coreKernel])) {
      const want = formatShape([a[0]!, b[0]!, ...coreKernel]);
      throw new LoKrError("shape_mismatch", `lokr_t2 must have shape ${want}, got ${formatShape(core)}`, {
        field: "lokr_t2",
        expected: want,
        received: formatShape(core),
      });
    }
    k = a[1]!;
    n = b[1]!;
  } else {
    w2 = "lowrank";
    const a = dims(need(params, "lokr_w2_a"), "lokr_w2_a", 2);
    const b = dims(need(params, "lokr_w2_b"), "lokr_w2_b", 2);
    if (a[1] !== b[0]) {
      throw rankMismatch("lokr_w2", a, b);
    }
    if (b[1]! % kernelNumel !== 0) {
      throw new LoKrError(
        "shape_mismatch",
        `lokr_w2_b has ${b[1]} columns, not a multiple of the kernel size ${kernelNumel}`,
        { field: "lokr_w2_b", expected: `columns a multiple of ${kernelNumel}`, received: formatShape(b) },
      );
    }
    k = a[0]!;
    n = b[1]! / kernelNumel;
  }
  if (l * k !== layer.outFeatures || m * n !== layer.inFeatures) {
    const want = formatShape([layer.outFeatures, layer.inFeatures]);
    const got = formatShape([l * k, m * n]);
    throw new LoKrError(
      "shape_mismatch",
      `LoKr factors give a ${got} weight (out ${l}·${k}, in ${m}·${n}), the layer is ${want}`,
      { field: "params", expected: `[out, in] = ${want}`, received: got },
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
