import { type FloatArray, reshape, type Tensor } from "@lycoris-ts/kernels";
import { LoraError } from "./lora-error";
import type { LoraConvGeometry, LoraLayerShape } from "./types";

/** A conv input with its batch dimension (`[C, ...]` becomes `[1, C, ...]`) and how to undo that. */
export function batched<A extends FloatArray>(
  x: Tensor<A>,
  layer: LoraLayerShape,
): { x: Tensor<A>; unbatch: <B extends FloatArray>(y: Tensor<B>) => Tensor<B> } {
  if (x.shape.length === layer.kernelSize.length + 1) {
    return { x: reshape(x, [1, ...x.shape]), unbatch: (y) => reshape(y, y.shape.slice(1)) };
  }
  return { x, unbatch: (y) => y };
}

/** The base conv's geometry, required for conv layers. */
export function requireConv(layer: LoraLayerShape, conv: LoraConvGeometry | undefined): LoraConvGeometry {
  if (conv === undefined) {
    throw new LoraError("invalid_params", `a LoRA ${layer.kind} layer needs the base conv's geometry`, {
      field: "conv",
      expected: "stride, padding, dilation, groups and padding mode",
      received: "undefined",
    });
  }
  return conv;
}

/** Rows of a channels-last input `[..., features]`. */
export function rowsOf(x: Tensor<FloatArray>, features: number): number {
  return x.data.length / features;
}
