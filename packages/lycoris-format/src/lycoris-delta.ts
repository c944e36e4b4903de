import type { ScratchPool, Tensor } from "@lycoris-ts/kernels";
import type { LayerGeometry } from "@lycoris-ts/runtime";
import { doraWeight } from "./dora-weight";
import { LycorisFormatError } from "./lycoris-format-error";
import { checkLycorisModuleFits, lycorisLayerGeometry } from "./lycoris-geometry";
import type { LycorisModule } from "./lycoris-module";

/** The base layer a delta is computed for: its weight (needed for DoRA), its shape, or its geometry. */
export type LycorisBase = Tensor<Float32Array> | readonly number[] | LayerGeometry;

function isTensor(b: LycorisBase): b is Tensor<Float32Array> {
  return !Array.isArray(b) && "data" in (b as object);
}

function geometryOf(b: LycorisBase): LayerGeometry {
  if (isTensor(b)) return lycorisLayerGeometry(b.shape);
  if (Array.isArray(b)) return lycorisLayerGeometry(b as readonly number[]);
  return b as LayerGeometry;
}

/**
 * `scale · raw` with the registry variant (PEFT's rebuild of the factors); `out` is offered to the
 * variant's `deltaWeight` as ΔW's buffer (the result may or may not live there).
 */
export function scaledRaw(m: LycorisModule, layer: LayerGeometry, out?: Float32Array): Tensor<Float32Array> {
  const err = checkLycorisModuleFits(m, layer.weightShape);
  if (err !== null) throw err;
  const r = m.rank ?? 1;
  const ctx = { config: m.variant.createConfig({}), r, alpha: m.alpha ?? r, layer };
  return m.variant.deltaWeight(m.params, ctx, m.scale, out);
}

/** Options of {@link mergeLycorisModule}. */
export interface MergeLycorisModuleOptions {
  /** The merged weight goes here (at least the weight's length; the result is its prefix) instead of a fresh array. */
  readonly out?: Float32Array;
  /** ΔW goes into slot 0 of this pool (kept by the caller across modules) instead of a fresh array. */
  readonly scratch?: ScratchPool;
}

/**
 * ΔW of one module at strength `strength`, shaped like the base weight, with the kohya loaders'
 * (ComfyUI's) rules: `strength · scale · raw`; with DoRA `W0 + strength · (W' − W0) − W0`. `base`
 * is the base weight (required for DoRA), or only its shape / geometry.
 *
 * @throws LycorisFormatError when the module does not fit the base weight, or DoRA without `W0`.
 */
export function lycorisDeltaWeight(m: LycorisModule, base: LycorisBase, strength = 1): Tensor<Float32Array> {
  const layer = geometryOf(base);
  const delta = scaledRaw(m, layer);
  if (m.doraScale === null) {
    if (strength !== 1) for (let i = 0; i < delta.data.length; i++) delta.data[i]! *= strength;
    return delta;
  }
  if (!isTensor(base)) {
    throw new LycorisFormatError(
      "missing_tensor",
      m.moduleName,
      `module '${m.moduleName}' has dora_scale: its delta needs the base weight, not only its shape`,
    );
  }
  const merged = doraWeight(base, delta.data, m.doraScale);
  const out = new Float32Array(merged.length);
  for (let i = 0; i < out.length; i++) out[i] = strength * (merged[i]! - base.data[i]!);
  return { data: out, shape: [...base.shape] };
}

/**
 * The base weight with module `m` merged at `strength`: `W0 + delta(strength)`; with DoRA at
 * strength 1 exactly ComfyUI's `W'`. Returns a new tensor (or a view of `o.out`); `weight` is not
 * changed.
 *
 * @throws LycorisFormatError when the module does not fit the weight.
 */
export function mergeLycorisModule(
  m: LycorisModule,
  weight: Tensor<Float32Array>,
  strength = 1,
  o: MergeLycorisModuleOptions = {},
): Tensor<Float32Array> {
  const layer = lycorisLayerGeometry(weight.shape);
  const n = weight.data.length;
  const delta = scaledRaw(m, layer, o.scratch?.take(n));
  const out = o.out === undefined ? new Float32Array(n) : outBuffer(o.out, n, m);
  if (m.doraScale === null) {
    for (let i = 0; i < out.length; i++) out[i] = weight.data[i]! + strength * delta.data[i]!;
  } else {
    const merged = doraWeight(weight, delta.data, m.doraScale);
    for (let i = 0; i < out.length; i++) {
      out[i] = strength === 1 ? merged[i]! : weight.data[i]! + strength * (merged[i]! - weight.data[i]!);
    }
  }
  return { data: out, shape: [...weight.shape] };
}

function outBuffer(out: Float32Array, n: number, m: LycorisModule): Float32Array {
  if (out.length < n) {
    throw new LycorisFormatError(
      "shape_mismatch",
      m.moduleName,
      `module '${m.moduleName}': out holds ${out.length} values, the merged weight needs ${n}`,
    );
  }
  return out.subarray(0, n);
}
