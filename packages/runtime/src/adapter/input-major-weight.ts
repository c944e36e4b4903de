import {
  type FloatArray,
  gatherRows,
  matmul,
  reshape,
  scatterAddRows,
  type Tensor,
} from "@lycoris-ts/kernels";
import type { LayerGeometry } from "../registry/adapter-variant";

/**
 * `x` applied through a weight stored input-major: a GPT-2 `Conv1D` weight `[nx, nf]` (`x · w`) or an
 * embedding table `[num_embeddings, dim]` (the rows `x` indexes). No bias.
 */
export function applyInputMajorWeight<A extends FloatArray>(
  x: Tensor<A>,
  w: Tensor<A>,
  layer: LayerGeometry,
): Tensor<A> {
  if (layer.kind === "embedding") return gatherRows(w, x);
  const rows = x.data.length / layer.inFeatures;
  const y = matmul(reshape(x, [rows, layer.inFeatures]), w);
  return reshape(y, [...x.shape.slice(0, -1), layer.outFeatures]);
}

/** Gradients of {@link applyInputMajorWeight} w.r.t. `x` (zeros for embedding indices) and `w`. */
export function inputMajorWeightBackward<A extends FloatArray>(
  x: Tensor<A>,
  w: Tensor<A>,
  dy: Tensor<A>,
  layer: LayerGeometry,
): { dx: Tensor<A>; dw: Tensor<A> } {
  if (layer.kind === "embedding") {
    const dx = { data: x.data.slice().fill(0) as A, shape: [...x.shape] };
    return { dx, dw: scatterAddRows(x, dy, layer.inFeatures) };
  }
  const rows = x.data.length / layer.inFeatures;
  const x2 = reshape(x, [rows, layer.inFeatures]);
  const dy2 = reshape(dy, [rows, layer.outFeatures]);
  return { dx: reshape(matmul(dy2, w, { transB: true }), x.shape), dw: matmul(x2, dy2, { transA: true }) };
}
