import type { ConvOptions } from "@lycoris-ts/kernels";
import { ConvNd } from "../model/conv";
import { Embedding } from "../model/embedding";
import { GPT2Conv1D } from "../model/gpt2-conv1d";
import { Linear } from "../model/linear";
import type { Module } from "../model/module";
import type { AdaptableKind, LayerGeometry } from "../registry/adapter-variant";
import { geometryFromWeightShape, inputMajorGeometry } from "../registry/layer-candidates";

/** The base layers adapters can wrap. */
export type AdaptableLayer = Linear | ConvNd | GPT2Conv1D | Embedding;

/** Whether `m` is a layer kind that adapters can wrap. */
export function isAdaptableLayer(m: Module): m is AdaptableLayer {
  return m instanceof Linear || m instanceof ConvNd || m instanceof GPT2Conv1D || m instanceof Embedding;
}

/** The geometry a variant sees of `layer`: its weight shape's (`geometryFromWeightShape`) with its conv options. */
export function layerGeometry(layer: AdaptableLayer): LayerGeometry {
  if (layer instanceof Linear) return geometryFromWeightShape([layer.outFeatures, layer.inFeatures])!;
  if (layer instanceof GPT2Conv1D) return inputMajorGeometry("gpt2_conv1d", layer.nx, layer.nf);
  if (layer instanceof Embedding)
    return inputMajorGeometry("embedding", layer.numEmbeddings, layer.embeddingDim);
  const conv: ConvOptions = layer.convOptions;
  return geometryFromWeightShape(layer.weight.data.shape, { ...conv, kind: layer.kind as AdaptableKind })!;
}

/** The same geometry with zero padding: PEFT's adapter path always pads with zeros. */
export function withZeroPadding(g: LayerGeometry): LayerGeometry {
  if (g.conv === null || g.conv.paddingMode === "zeros") return g;
  return { ...g, conv: { ...g.conv, paddingMode: "zeros" } };
}
