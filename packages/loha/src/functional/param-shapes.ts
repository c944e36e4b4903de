import { formatShape } from "@lycoris-ts/kernels";
import { LoHaMathError } from "./loha-math-error";
import type { LoHaLayerShape, LoHaParamLayout, LoHaShapeOptions } from "./types";

/** All LoHa parameter names, in PEFT's attribute order. */
export const LOHA_PARAM_NAMES = [
  "hada_w1_a",
  "hada_w1_b",
  "hada_w2_a",
  "hada_w2_b",
  "hada_t1",
  "hada_t2",
] as const;

function checkPositiveInt(value: number, field: string): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new LoHaMathError(`${field} must be a positive integer, got ${value}`, {
      field,
      expected: "positive integer",
      received: String(value),
    });
  }
}

/** Validates a {@link LoHaLayerShape} (kernel rank matches the kind, sizes are positive). */
export function checkLayerShape(layer: LoHaLayerShape): void {
  checkPositiveInt(layer.outFeatures, "outFeatures");
  checkPositiveInt(layer.inFeatures, "inFeatures");
  const want = layer.kind === "linear" ? 0 : layer.kind === "conv1d" ? 1 : 2;
  if (layer.kernelSize.length !== want) {
    throw new LoHaMathError(
      `a ${layer.kind} layer needs ${want} kernel dims, got ${formatShape(layer.kernelSize)}`,
      { field: "kernelSize", expected: `${want} dims`, received: formatShape(layer.kernelSize) },
    );
  }
  for (const k of layer.kernelSize) checkPositiveInt(k, "kernelSize");
  if (layer.groups !== undefined) checkPositiveInt(layer.groups, "groups");
}

/** Product of the kernel dims (1 for a linear layer). */
export function kernelNumel(layer: LoHaLayerShape): number {
  let n = 1;
  for (const k of layer.kernelSize) n *= k;
  return n;
}

/**
 * Shape of the base layer's weight, which is also the shape of ΔW:
 * `[out, in]` (linear), `[out, in/groups, k]` (conv1d), `[out, in/groups, kh, kw]` (conv2d).
 */
export function lohaBaseWeightShape(layer: LoHaLayerShape): number[] {
  return [layer.outFeatures, layer.inFeatures, ...layer.kernelSize];
}

/**
 * Whether PEFT uses the Tucker ("effective conv") form for this layer: only for convolutions,
 * only when `useEffectiveConv2d` is set, and never for 1×1 (Conv2d) or k = 1 (Conv1d) kernels.
 */
export function lohaUsesEffectiveConv(layer: LoHaLayerShape, useEffectiveConv2d: boolean): boolean {
  if (!useEffectiveConv2d || layer.kind === "linear") return false;
  return layer.kernelSize.some((k) => k !== 1);
}

/**
 * Names and shapes of the LoHa parameters PEFT creates for one layer, in PEFT's attribute order.
 *
 * - Linear and non-Tucker conv: `hada_w1_a [out, r]`, `hada_w1_b [r, in·∏k]`, `hada_w2_a [out, r]`,
 *   `hada_w2_b [r, in·∏k]` (kernel flattened into `w*_b`).
 * - Tucker conv (see {@link lohaUsesEffectiveConv}): `hada_w1_a [r, out]`, `hada_w1_b [r, in]`,
 *   `hada_w2_a [r, out]`, `hada_w2_b [r, in]`, `hada_t1`/`hada_t2 [r, r, kh, kw]`; a Conv1d core
 *   is stored 4-D as `[r, r, k, 1]`, as PEFT does.
 *
 * `in` is `in_channels / groups` for grouped convolutions.
 */
export function lohaParamShapes(layer: LoHaLayerShape, o: LoHaShapeOptions): LoHaParamLayout {
  checkLayerShape(layer);
  checkPositiveInt(o.r, "r");
  const { r } = o;
  const out = layer.outFeatures;
  const inF = layer.inFeatures;
  if (lohaUsesEffectiveConv(layer, o.useEffectiveConv2d)) {
    const core = layer.kind === "conv1d" ? [r, r, layer.kernelSize[0] ?? 1, 1] : [r, r, ...layer.kernelSize];
    return {
      structure: { effectiveConv: true },
      params: [
        ["hada_w1_a", [r, out]],
        ["hada_w1_b", [r, inF]],
        ["hada_w2_a", [r, out]],
        ["hada_w2_b", [r, inF]],
        ["hada_t1", core],
        ["hada_t2", [...core]],
      ],
    };
  }
  const flatIn = inF * kernelNumel(layer);
  return {
    structure: { effectiveConv: false },
    params: [
      ["hada_w1_a", [out, r]],
      ["hada_w1_b", [r, flatIn]],
      ["hada_w2_a", [out, r]],
      ["hada_w2_b", [r, flatIn]],
    ],
  };
}
