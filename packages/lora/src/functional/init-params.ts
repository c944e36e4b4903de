import { kaimingUniform, normalTensor, type Rng, type Tensor, zeros } from "@lycoris-ts/kernels";
import { LoraError } from "./lora-error";
import { loraParamShapes } from "./param-shapes";
import type { LoraInitWeights, LoraLayerShape } from "./types";

/** PEFT's check of `init_lora_weights` when it creates the adapter on a non-embedding layer. */
export function checkLoraInit(layer: LoraLayerShape, init: LoraInitWeights): void {
  if (typeof init !== "string" || layer.kind === "embedding" || init.toLowerCase() === "gaussian") return;
  throw new LoraError("unknown_init", `Unknown initialization init_lora_weights='${init}'`, {
    field: "initLoraWeights",
    expected: 'true, false or "gaussian"',
    received: init,
  });
}

/**
 * Creates a LoRA parameter set initialised with PEFT's distributions (the values themselves differ from
 * torch's generator; draws are taken from `rng` in parameter order):
 *
 * | `init` | A (linear, GPT-2, conv) | B | embedding A | embedding B |
 * | --- | --- | --- | --- | --- |
 * | `true` | U(±1/√fan_in) (Kaiming, a = √5) | 0 | 0 | N(0, 1) |
 * | `"gaussian"` | N(0, 1/r) | 0 | 0 | N(0, 1) |
 * | `false` | U(±1/√fan_in) | U(±1/√fan_in(B)) | N(0, 1) | N(0, 1) |
 *
 * `fan_in` is torch's (`shape[1] · ∏shape[2:]`): `in · ∏kernel` for A, `r / groups` for B. With `true` or
 * `"gaussian"`, ΔW is exactly zero. Other strings throw `unknown_init` (see {@link checkLoraInit}).
 */
export function initLoraParams(
  layer: LoraLayerShape,
  r: number,
  init: LoraInitWeights,
  rng: Rng,
): Record<string, Tensor<Float32Array>> {
  checkLoraInit(layer, init);
  const [[nameA, shapeA], [nameB, shapeB]] = loraParamShapes(layer, r) as [
    readonly [string, readonly number[]],
    readonly [string, readonly number[]],
  ];
  if (layer.kind === "embedding") {
    return {
      [nameA]: init === false ? normalTensor(shapeA, rng, 1) : zeros(shapeA),
      [nameB]: normalTensor(shapeB, rng, 1),
    };
  }
  const gaussian = typeof init === "string";
  return {
    [nameA]: gaussian ? normalTensor(shapeA, rng, 1 / r) : kaimingUniform(shapeA, rng),
    [nameB]: init === false ? kaimingUniform(shapeB, rng) : zeros(shapeB),
  };
}
