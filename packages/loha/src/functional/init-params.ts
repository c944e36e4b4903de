import { describeValue } from "@lycoris-ts/errors";
import { kaimingUniform, type Rng, type Tensor, zeros } from "@lycoris-ts/kernels";
import { LoHaMathError } from "./loha-math-error";
import { lohaParamShapes } from "./param-shapes";
import type { LoHaLayerShape, LoHaShapeOptions } from "./types";

/**
 * LoHa initialisation mode, as PEFT's `LoHaConfig.init_weights`:
 * - `true` (default): every factor Kaiming-uniform (a = √5, i.e. U(±1/√fan_in)) except
 *   `hada_w2_b`, which is zero, so ΔW = 0 at the start;
 * - `"lycoris"`: PEFT accepts this for LoHa and treats it exactly like `true` (the string is truthy
 *   in PEFT's `if init_weights:`), so it gives the same layout — this is *not* LyCORIS's normal init;
 * - `false`: every factor Kaiming-uniform, including `hada_w2_b` (random ΔW, for tests).
 */
export type LoHaInitWeights = boolean | "lycoris";

/**
 * Creates and initialises the LoHa parameters of one layer exactly as PEFT's
 * `reset_adapter_parameters` / `reset_adapter_parameters_random` do (same distributions, same
 * order of draws from `rng`: `hada_w1_a, hada_w1_b, hada_w2_a, hada_w2_b, hada_t1, hada_t2`).
 */
export function initLoHaParams(
  layer: LoHaLayerShape,
  o: LoHaShapeOptions,
  initWeights: LoHaInitWeights,
  rng: Rng,
): Record<string, Tensor<Float32Array>> {
  if (initWeights !== true && initWeights !== false && initWeights !== "lycoris") {
    throw new LoHaMathError(`unknown LoHa init_weights ${describeValue(initWeights)}`, {
      field: "init_weights",
      expected: 'true, false or "lycoris"',
      received: describeValue(initWeights),
    });
  }
  const zeroW2b = initWeights !== false;
  const out: Record<string, Tensor<Float32Array>> = {};
  for (const [name, shape] of lohaParamShapes(layer, o).params) {
    out[name] = zeroW2b && name === "hada_w2_b" ? zeros(shape) : kaimingUniform(shape, rng);
  }
  return out;
}
