import type { ConvOptions } from "@lycoris-ts/kernels";
import { ConvNd } from "../model/conv";
import { Linear } from "../model/linear";
import type { Module } from "../model/module";
import type { AdaptableKind, LayerGeometry } from "../registry/adapter-variant";
import { geometryFromWeightShape } from "../registry/layer-candidates";

/** The base layers adapters can wrap. */
export type AdaptableLayer = Linear | ConvNd;

/** Whether `m` is a layer kind that adapters can wrap. */
export function isAdaptableLayer(m: Module): m is AdaptableLayer {
  return m instanceof Linear || m instanceof ConvNd;
}

/** The geometry a variant sees of `layer`: its weight shape's (`geometryFromWeightShape`) with its conv options. */
export function layerGeometry(layer: AdaptableLayer): LayerGeometry {
  if (layer instanceof Linear) return geometryFromWeightShape([layer.outFeatures, layer.inFeatures])!;
  const conv: ConvOptions = layer.convOptions;
  return geometryFromWeightShape(layer.weight.data.shape, { ...conv, kind: layer.kind as AdaptableKind })!;
}

/** The same geometry with zero padding: PEFT's adapter path always pads with zeros. */
export function withZeroPadding(g: LayerGeometry): LayerGeometry {
  if (g.conv === null || g.conv.paddingMode === "zeros") return g;
  return { ...g, conv: { ...g.conv, paddingMode: "zeros" } };
}
