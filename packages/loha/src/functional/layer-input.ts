import { type ConvOptions, type FloatArray, formatShape, type Tensor } from "@lycoris-ts/kernels";
import { LoHaMathError } from "./loha-math-error";
import type { LoHaLayerShape } from "./types";

/** Number of rows of a linear input `[..., in]`; throws if the last dim is not `in`. */
export function linearRows(x: Tensor<FloatArray>, layer: LoHaLayerShape, field: string): number {
  const last = x.shape[x.shape.length - 1];
  if (x.shape.length === 0 || last !== layer.inFeatures) {
    throw new LoHaMathError(
      `${field} has shape ${formatShape(x.shape)}, expected [..., ${layer.inFeatures}]`,
      { field, expected: `[..., ${layer.inFeatures}]`, received: formatShape(x.shape) },
    );
  }
  return x.data.length / layer.inFeatures;
}

/**
 * The conv options of the adapter path, checked against the layer. They arrive finished and are used as
 * given: the runtime layer passes the base layer's stride/padding/dilation/groups with zero padding (PEFT
 * calls `F.conv1d/F.conv2d` directly, which ignores `padding_mode`) or, when asked to, the base's padding
 * mode (see `AdapterPadding`).
 */
export function adapterConvOptions(layer: LoHaLayerShape, conv: ConvOptions | undefined): ConvOptions {
  if (conv === undefined) {
    throw new LoHaMathError(`a ${layer.kind} LoHa layer needs its conv geometry`, {
      field: "conv",
      expected: "ConvOptions",
      received: "undefined",
    });
  }
  const groups = layer.groups ?? conv.groups;
  if (groups !== conv.groups) {
    throw new LoHaMathError(`layer.groups (${groups}) differs from conv.groups (${conv.groups})`, {
      field: "groups",
      expected: String(groups),
      received: String(conv.groups),
    });
  }
  return conv;
}

/** Checks a conv input `[N, C, ...spatial]` against the layer (C = in·groups). */
export function checkConvInput(
  x: Tensor<FloatArray>,
  layer: LoHaLayerShape,
  groups: number,
  field: string,
): void {
  const rank = layer.kind === "conv1d" ? 3 : 4;
  const channels = layer.inFeatures * groups;
  if (x.shape.length !== rank || x.shape[1] !== channels) {
    const want = layer.kind === "conv1d" ? `[N, ${channels}, L]` : `[N, ${channels}, H, W]`;
    throw new LoHaMathError(`${field} has shape ${formatShape(x.shape)}, expected ${want}`, {
      field,
      expected: want,
      received: formatShape(x.shape),
    });
  }
}
