import { type FloatArray, lowRankHadamard, outputLike, type Tensor, tensor } from "@lycoris-ts/kernels";
import { expectWeightShape, lohaDeltaWeight } from "./delta-weight";
import { resolveLoHaFactors } from "./factors";
import { checkLayerShape } from "./param-shapes";
import type { LoHaLayerShape, LoHaParams } from "./types";

/** Scratch size (elements) of one block of ΔW rows in {@link lohaMergeInto}. */
const MERGE_BLOCK_ELEMENTS = 1 << 18;

/** `scratch` when it has the array type of the factors (float32), else `undefined` (a fresh array). */
function sameType<A extends FloatArray>(like: A, scratch: Float32Array | undefined): A | undefined {
  return scratch !== undefined && scratch.constructor === like.constructor ? (scratch as A) : undefined;
}

/**
 * Adds `scale · ΔW` to `weight` in place (PEFT `merge`); a negative `scale` un-merges.
 *
 * For the non-Tucker form ΔW is produced in blocks of output rows (about 2¹⁸ elements of scratch),
 * so no `out × in` temporary is allocated (one block buffer, reused for every block); the Tucker form (convolutions only, small kernels)
 * builds ΔW once. With `scratch` (a Float32Array of at least the weight's length, contents garbage) the
 * block buffer and the Tucker ΔW are written there instead of fresh arrays.
 */
export function lohaMergeInto(
  weight: Tensor<Float32Array>,
  params: LoHaParams<FloatArray>,
  layer: LoHaLayerShape,
  scale: number,
  scratch?: Float32Array,
): void {
  checkLayerShape(layer);
  expectWeightShape(weight, layer, "weight");
  const f = resolveLoHaFactors(params, layer);
  const w = weight.data;
  if (f.t1 !== null) {
    const delta = lohaDeltaWeight(params, layer, scale, sameType(f.w1a.data, scratch)).data;
    for (let i = 0; i < w.length; i++) w[i] = (w[i] ?? 0) + (delta[i] ?? 0);
    return;
  }
  const out = layer.outFeatures;
  const cols = w.length / out;
  const r1 = f.w1a.shape[1] ?? 0;
  const r2 = f.w2a.shape[1] ?? 0;
  // Blocks of rows keep the scratch at ~MERGE_BLOCK_ELEMENTS while using the kernels' fast path.
  const block = Math.max(1, Math.min(out, Math.floor(MERGE_BLOCK_ELEMENTS / Math.max(1, cols))));
  const blockBuf = outputLike("lohaMergeInto", f.w1a.data, block * cols, sameType(f.w1a.data, scratch));
  for (let o0 = 0; o0 < out; o0 += block) {
    const rows = Math.min(block, out - o0);
    const a1 = tensor(f.w1a.data.subarray(o0 * r1, (o0 + rows) * r1), [rows, r1]);
    const a2 = tensor(f.w2a.data.subarray(o0 * r2, (o0 + rows) * r2), [rows, r2]);
    const d = lowRankHadamard(a1, f.w1b, a2, f.w2b, scale, blockBuf).data;
    const base = o0 * cols;
    for (let k = 0; k < d.length; k++) w[base + k] = (w[base + k] ?? 0) + (d[k] ?? 0);
  }
}
