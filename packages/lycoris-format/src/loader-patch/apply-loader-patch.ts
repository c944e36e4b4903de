import type { ScratchPool, Tensor } from "@lycoris-ts/kernels";
import type { LayerGeometry } from "@lycoris-ts/runtime";
import { doraOnOutputAxis, doraWeight } from "../dora-weight";
import type { RowSlice, WeightFunction } from "../key-map/key-map-types";
import { scaledRaw } from "../lycoris-delta";
import { LycorisFormatError } from "../lycoris-format-error";
import { checkLycorisModuleFits } from "../lycoris-geometry";
import type { LycorisModule } from "../lycoris-module";
import { shapeText } from "../shape-text";
import type { LoaderPatch, LoaderWeightPatch } from "./loader-patch";
import { loraLoaderRaw, loraLoaderShape } from "./lora-loader-delta";

/** Where a patch lands in one base tensor: its weight or bias part, rows of it, a function on ΔW. */
export interface LoaderPatchTarget {
  readonly part: "weight" | "bias";
  /** Rows of the base tensor (dim 0) the patch is computed on and applied to; `null`: all of it. */
  readonly slice: RowSlice | null;
  /** Applied to the scaled ΔW before it is added (not to the base weight, not to DoRA's magnitudes). */
  readonly function: WeightFunction | null;
}

const prod = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/** The shape of the patched part of a tensor: its rows `[size, …rest]` or the whole shape. */
function viewShape(shape: readonly number[], slice: RowSlice | null): readonly number[] {
  return slice === null ? shape : [slice.size, ...shape.slice(1)];
}

/** The variant layer whose ΔW fills `shape`: the exact candidate, else one with the same `[out, in·K]` (reshaped, as ComfyUI does). */
function variantLayer(m: LycorisModule, shape: readonly number[]): LayerGeometry | null {
  const shapes = new Map(Object.entries(m.params).map(([n, t]) => [n, t.shape] as const));
  const candidates = m.variant.layerCandidates?.(shapes) ?? [];
  const text = shapeText(shape);
  const exact = candidates.find((g) => shapeText(g.weightShape) === text);
  if (exact !== undefined) return exact;
  return (
    candidates.find(
      (g) => g.weightShape[0] === shape[0] && prod(g.weightShape.slice(1)) === prod(shape.slice(1)),
    ) ?? null
  );
}

function misfit(patch: LoaderPatch, shape: readonly number[], why: string): LycorisFormatError {
  return new LycorisFormatError(
    "shape_mismatch",
    patch.moduleKey,
    `module '${patch.moduleKey}' (${patch.kind}): target ${shapeText(shape)} does not fit the adapter (${why})`,
  );
}

function doraMisfit(dora: Tensor<Float32Array> | null, shape: readonly number[]): string | null {
  if (dora === null || doraOnOutputAxis(dora, shape[0]!)) return null;
  const inCh = shape[1];
  if (inCh !== undefined && dora.shape[0] === 1 && dora.shape[1] === inCh && dora.data.length === inCh)
    return null;
  return `dora_scale ${shapeText(dora.shape)} is neither [${shape[0]}, 1, …] nor [1, ${inCh ?? "in"}, …]`;
}

function weightMisfit(w: LoaderWeightPatch, shape: readonly number[]): string | null {
  if (w.form === "diff") {
    return shapeText(w.diff.shape) === shapeText(shape) ? null : `diff ${shapeText(w.diff.shape)}`;
  }
  if (shape.length < 2) return "not a linear or conv weight";
  if (w.form === "lora") {
    const [out, inner] = loraLoaderShape(w);
    if (out !== shape[0] || inner !== prod(shape.slice(1))) {
      return `up ${shapeText(w.up.shape)}, down ${shapeText(w.down.shape)} make a [${out}, ${inner}] update`;
    }
    return doraMisfit(w.doraScale, shape);
  }
  if (variantLayer(w.module, shape) === null) {
    return checkLycorisModuleFits(w.module, shape)?.message ?? "no layer of this shape";
  }
  return doraMisfit(w.module.doraScale, shape);
}

/**
 * Why `patch` cannot be applied to `target` of a base tensor of shape `shape`, or `null` when it
 * fits: the slice must be rows (dim 0) inside the tensor; a weight patch's update must have the
 * target's `[out, in · K]` (ComfyUI reshapes it), a diff its exact shape, `dora_scale` one entry per
 * row or per input column; a bias difference the bias rows' shape.
 */
export function checkLoaderPatchFits(
  patch: LoaderPatch,
  target: LoaderPatchTarget,
  shape: readonly number[],
): LycorisFormatError | null {
  const s = target.slice;
  if (s !== null && (s.dim !== 0 || s.start < 0 || s.start + s.size > (shape[0] ?? 0))) {
    return new LycorisFormatError(
      s.dim === 0 ? "shape_mismatch" : "not_supported",
      patch.moduleKey,
      `module '${patch.moduleKey}': slice dim ${s.dim} rows [${s.start}, ${s.start + s.size}) of ${shapeText(shape)} is not a row range of the tensor`,
    );
  }
  const view = viewShape(shape, s);
  if (target.part === "bias") {
    if (patch.bias === null) return misfit(patch, view, "the module has no bias difference");
    return shapeText(patch.bias.shape) === shapeText(view)
      ? null
      : misfit(patch, view, `bias difference ${shapeText(patch.bias.shape)}`);
  }
  if (patch.weight === null) return misfit(patch, view, "the module has no weight patch");
  const why = weightMisfit(patch.weight, view);
  return why === null ? null : misfit(patch, view, why);
}

/** `scale · raw` shaped like the view (in `out` when given), and the DoRA magnitudes (or `null`). */
function scaledDelta(
  w: LoaderWeightPatch,
  shape: readonly number[],
  out: Float32Array | undefined,
): { delta: Float32Array; dora: Tensor<Float32Array> | null } {
  if (w.form === "diff") return { delta: w.diff.data, dora: null };
  if (w.form === "lora") {
    const raw = loraLoaderRaw(w, out).data;
    if (w.scale !== 1) for (let i = 0; i < raw.length; i++) raw[i]! *= w.scale;
    return { delta: raw, dora: w.doraScale };
  }
  const layer = variantLayer(w.module, shape)!;
  return { delta: scaledRaw(w.module, layer, out).data, dora: w.module.doraScale };
}

/** ComfyUI's `swap_scale_shift`: the two row halves exchanged (a new array, or `scratch`'s slot 1). */
function applyFunction(
  fn: WeightFunction | null,
  delta: Float32Array,
  rows: number,
  scratch: ScratchPool | undefined,
): Float32Array {
  if (fn === null) return delta;
  const half = Math.ceil(rows / 2);
  const inner = delta.length / rows;
  const out = scratch === undefined ? new Float32Array(delta.length) : scratch.take(delta.length, 1);
  out.set(delta.subarray(half * inner), 0);
  out.set(delta.subarray(0, half * inner), (rows - half) * inner);
  return out;
}

/**
 * Applies one patch to a base tensor in place, with ComfyUI's `calculate_weight` rules: on the
 * target rows only (ΔW, DoRA norms and strength are computed on the slice; other rows untouched),
 * `W += s · f(scale · ΔW)`; with DoRA `W' = (W + f(scale · ΔW)) · dora_scale / (‖·‖ + ε)` (row norms
 * of the unpatched `W` when `dora_scale` has one entry per row, else column norms of the sum) and
 * `W += s · (W' − W)`; a diff `W += s · f(diff)`; a bias difference `b += s · diff_b`.
 * With `scratch` (the caller's pool, kept across a whole merge) ΔW goes into its slot 0 and a row
 * swap into slot 1 instead of fresh arrays; the result is bit-for-bit the same.
 *
 * @throws LycorisFormatError when the patch does not fit ({@link checkLoaderPatchFits}).
 */
export function applyLoaderPatch(
  tensor: Tensor<Float32Array>,
  patch: LoaderPatch,
  target: LoaderPatchTarget,
  strength: number,
  scratch?: ScratchPool,
): void {
  const err = checkLoaderPatchFits(patch, target, tensor.shape);
  if (err !== null) throw err;
  const shape = viewShape(tensor.shape, target.slice);
  const inner = tensor.data.length / (tensor.shape[0] ?? 1);
  const start = target.slice === null ? 0 : target.slice.start * inner;
  const view = tensor.data.subarray(start, start + prod(shape));
  if (target.part === "bias") {
    const d = patch.bias!.data;
    for (let i = 0; i < view.length; i++) view[i]! += strength * d[i]!;
    return;
  }
  const { delta: raw, dora } = scaledDelta(patch.weight!, shape, scratch?.take(view.length));
  const delta = applyFunction(target.function, raw, shape[0]!, scratch);
  if (dora === null) {
    for (let i = 0; i < view.length; i++) view[i]! += strength * delta[i]!;
    return;
  }
  const merged = doraWeight({ data: view, shape }, delta, dora);
  for (let i = 0; i < view.length; i++) {
    view[i] = strength === 1 ? merged[i]! : view[i]! + strength * (merged[i]! - view[i]!);
  }
}
