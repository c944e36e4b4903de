import { kaimingUniform, type Rng, type Tensor, zeros } from "@lycoris-ts/kernels";
import { lokrParamShapes } from "./param-shapes";
import type { LoKrLayerShape, LoKrShapeOptions } from "./types";

/** PEFT's `init_weights` for LoKr: `true` (default), `false` (all random) or `"lycoris"`. */
export type LoKrInitWeights = boolean | "lycoris";

/** The parameters that PEFT sets to exactly zero for an init mode (the others are Kaiming-uniform). */
function zeroParams(initWeights: LoKrInitWeights): ReadonlySet<string> {
  if (initWeights === "lycoris") return new Set(["lokr_w2", "lokr_w2_b"]);
  if (initWeights) return new Set(["lokr_w1", "lokr_w1_a"]);
  return new Set();
}

/**
 * Creates and initialises a LoKr parameter set exactly as PEFT chooses per init mode:
 *
 * - `true`: `lokr_w1` (or `lokr_w1_a`) zero, everything else Kaiming-uniform (so ΔW = 0);
 * - `"lycoris"`: `lokr_w2` (or `lokr_w2_b`) zero, everything else Kaiming-uniform (so ΔW = 0);
 * - `false`: everything Kaiming-uniform.
 *
 * Kaiming-uniform uses a = √5 and torch's fan-in rule (`shape[1] · ∏shape[2:]`), i.e. U(−1/√fan_in, 1/√fan_in).
 * Draws are taken from `rng` in parameter order, so a seeded `rng` gives reproducible values (the values
 * themselves differ from torch's generator).
 */
export function initLoKrParams(
  layer: LoKrLayerShape,
  o: LoKrShapeOptions,
  initWeights: LoKrInitWeights,
  rng: Rng,
): Record<string, Tensor<Float32Array>> {
  const zero = zeroParams(initWeights);
  const out: Record<string, Tensor<Float32Array>> = {};
  for (const [name, shape] of lokrParamShapes(layer, o).params) {
    out[name] = zero.has(name) ? zeros(shape) : kaimingUniform(shape, rng, Math.sqrt(5));
  }
  return out;
}
