import type { Tensor } from "@lycoris-ts/kernels";
import { type LayerGeometry, PEFT_KEY_PREFIX } from "@lycoris-ts/runtime";
import { LoraError } from "../functional/lora-error";

/** One module's LoRA tensors as PEFT stores them, and the LoRA rank `r` they have. */
export interface LoraModuleTensors {
  /** PEFT's `r` for the module: the factors' rank, times the conv's groups for a grouped conv. */
  readonly r: number;
  /** `base_model.model.<module>.lora_A.weight` / `.lora_B.weight` (embeddings: `lora_embedding_A` / `_B`), A first. */
  readonly entries: ReadonlyArray<readonly [key: string, tensor: Tensor<Float32Array>]>;
}

function checkFactors(
  module: string,
  layer: LayerGeometry,
  b: Tensor<Float32Array>,
  a: Tensor<Float32Array>,
) {
  const k = b.shape[1] ?? -1;
  const rows = layer.outFeatures;
  const cols = layer.inFeatures * layer.kernelSize.reduce((x, y) => x * y, 1);
  const ok =
    b.shape.length === 2 &&
    a.shape.length === 2 &&
    b.shape[0] === rows &&
    a.shape[0] === k &&
    a.shape[1] === cols &&
    k > 0 &&
    b.data.length === rows * k &&
    a.data.length === k * cols;
  if (!ok) {
    throw new LoraError(
      "invalid_params",
      `${module}: LoRA factors B [${b.shape.join(", ")}] · A [${a.shape.join(", ")}] do not fit the layer (ΔW as a matrix [${rows}, ${cols}])`,
      {
        field: module,
        expected: `B [${rows}, k] and A [k, ${cols}], k ≥ 1`,
        received: `B [${b.shape}], A [${a.shape}]`,
      },
    );
  }
  return k;
}

/**
 * The PEFT LoRA tensors of one module from factors `B·A ≈ ΔW`, with ΔW as the `[out, in/groups · ∏kernel]` matrix
 * (for a GPT-2 `Conv1D` or an embedding: `[out, in]`, ΔW transposed, as runtime's `layerDeltaSvd` decomposes it):
 * `b` is `[out, k]`, `a` `[k, in/groups · ∏kernel]`, the LoRA scaling is 1 (`lora_alpha = r`).
 *
 * - linear / GPT-2 `Conv1D`: `lora_A.weight` `[k, in]`, `lora_B.weight` `[out, k]`; embedding: `lora_embedding_A`
 *   `[k, num_embeddings]`, `lora_embedding_B` `[embedding_dim, k]`;
 * - conv: `lora_A.weight` `[k, in, ...kernel]` (a conv with the base's kernel), `lora_B.weight` `[out, k, 1, …]`;
 * - grouped conv (`groups = G > 1`): PEFT's LoRA has a dense `lora_A` over all `in` channels and a grouped 1×1
 *   `lora_B`, so the factors become `r = G·k`: `lora_A.weight` `[G·k, in, ...kernel]` holding `A` once per group on
 *   that group's input channels (zeros elsewhere), `lora_B.weight` `[out, k, 1, …]` = `B`. The LoRA output is
 *   exactly `conv(x, B·A)` with the base's groups.
 *
 * Used by `convertToLora`, and by anything that writes LoRA factors of its own (extraction).
 *
 * @throws LoraError `invalid_params` when the factors' shapes do not fit the layer.
 */
export function loraModuleTensors(
  module: string,
  layer: LayerGeometry,
  b: Tensor<Float32Array>,
  a: Tensor<Float32Array>,
): LoraModuleTensors {
  const k = checkFactors(module, layer, b, a);
  const key = (name: string) => `${PEFT_KEY_PREFIX}${module}.${name}`;
  if (layer.kind === "embedding") {
    return {
      r: k,
      entries: [
        [key("lora_embedding_A"), a],
        [key("lora_embedding_B"), b],
      ],
    };
  }
  if (layer.kind === "linear" || layer.kind === "gpt2_conv1d") {
    return {
      r: k,
      entries: [
        [key("lora_A.weight"), a],
        [key("lora_B.weight"), b],
      ],
    };
  }
  const ones = layer.kernelSize.map(() => 1);
  const g = layer.groups;
  const inG = layer.inFeatures;
  const taps = layer.kernelSize.reduce((x, y) => x * y, 1);
  const loraB: Tensor<Float32Array> = { data: b.data, shape: [layer.outFeatures, k, ...ones] };
  if (g === 1) {
    const loraA: Tensor<Float32Array> = { data: a.data, shape: [k, inG, ...layer.kernelSize] };
    return {
      r: k,
      entries: [
        [key("lora_A.weight"), loraA],
        [key("lora_B.weight"), loraB],
      ],
    };
  }
  // Row g·k + t of the dense lora_A is A's row t on group g's input channels [g·inG, (g+1)·inG).
  const row = inG * g * taps;
  const dense = new Float32Array(g * k * row);
  for (let grp = 0; grp < g; grp++)
    for (let t = 0; t < k; t++)
      dense.set(
        a.data.subarray(t * inG * taps, (t + 1) * inG * taps),
        (grp * k + t) * row + grp * inG * taps,
      );
  return {
    r: g * k,
    entries: [
      [key("lora_A.weight"), { data: dense, shape: [g * k, inG * g, ...layer.kernelSize] }],
      [key("lora_B.weight"), loraB],
    ],
  };
}
