import type { Tensor } from "@lycoris-ts/kernels";
import type { DeltaExtraction, DeltaExtractionOptions, LayerGeometry } from "@lycoris-ts/runtime";
import { LoKrError } from "./functional/errors";
import { lokrFromDelta } from "./functional/nearest-kronecker";
import type { LoKrLayerKind } from "./functional/types";

function shapeText(t: Tensor<Float32Array> | undefined): string {
  return t === undefined ? "" : `[${t.shape.join(", ")}]`;
}

/**
 * LoKr's `extractFromDelta` hook: {@link lokrFromDelta} with the extraction's factor, `decomposeBoth` and fixed
 * rank (LoKr takes no threshold / ratio / quantile), `alpha = r` (scaling 1), and no Tucker core.
 */
export function lokrExtractFromDelta(
  delta: Tensor<Float32Array>,
  layer: LayerGeometry,
  options: DeltaExtractionOptions,
): DeltaExtraction {
  if (layer.kind !== "linear" && layer.kind !== "conv1d" && layer.kind !== "conv2d") {
    throw new LoKrError("invalid_layer", `LoKr cannot be extracted for a ${layer.kind} layer`, {
      field: "layer.kind",
      expected: "linear, conv1d or conv2d",
      received: layer.kind,
    });
  }
  const selection = options.rank;
  if (selection !== undefined && selection.mode !== "fixed") {
    throw new LoKrError("invalid_argument", `LoKr extraction takes a fixed rank, not a ${selection.mode}`, {
      field: selection.mode,
      expected: "a fixed rank (or none: w2 kept full)",
      received: selection.mode,
    });
  }
  const decomposeBoth = options.decomposeBoth ?? false;
  if (decomposeBoth && selection === undefined) {
    throw new LoKrError("invalid_argument", "decomposeBoth needs a rank: w1 becomes a rank-r product", {
      field: "decomposeBoth",
      expected: "a fixed rank with decomposeBoth",
      received: "no rank",
    });
  }
  const decomposeFactor = options.factor ?? -1;
  const x = lokrFromDelta(
    delta,
    {
      kind: layer.kind as LoKrLayerKind,
      outFeatures: layer.outFeatures,
      inFeatures: layer.inFeatures,
      kernelSize: layer.kernelSize,
      groups: layer.groups,
    },
    { ...(selection === undefined ? {} : { r: selection.rank }), decomposeFactor, decomposeBoth },
  );
  const p = x.params;
  const w1 =
    p.lokr_w1 !== undefined ? shapeText(p.lokr_w1) : `${shapeText(p.lokr_w1_a)}·${shapeText(p.lokr_w1_b)}`;
  const w2 =
    p.lokr_w2 !== undefined ? shapeText(p.lokr_w2) : `${shapeText(p.lokr_w2_a)}·${shapeText(p.lokr_w2_b)}`;
  return {
    module: {
      params: p,
      r: x.r,
      alpha: x.r,
      relativeError: x.relativeError,
      structure: `w1 ${w1} ⊗ w2 ${w2}`,
    },
    configOptions: { decomposeBoth, decomposeFactor, useEffectiveConv2d: false },
  };
}
