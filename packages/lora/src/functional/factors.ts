import type { FloatArray, Tensor } from "@lycoris-ts/kernels";
import { LoraError } from "./lora-error";
import { loraParamShapes } from "./param-shapes";
import type { LoraLayerShape, LoraParams } from "./types";

/** `A` and `B` of a LoRA parameter set, checked against the layer (rank taken from `A`). */
export function loraFactors<A extends FloatArray>(
  params: LoraParams<A>,
  layer: LoraLayerShape,
): { a: Tensor<A>; b: Tensor<A>; r: number } {
  const embedding = layer.kind === "embedding";
  const a = params[embedding ? "lora_embedding_A" : "lora_A.weight"];
  const b = params[embedding ? "lora_embedding_B" : "lora_B.weight"];
  if (a === undefined || b === undefined) {
    const want = embedding ? "lora_embedding_A and lora_embedding_B" : "lora_A.weight and lora_B.weight";
    throw new LoraError("invalid_params", `a LoRA ${layer.kind} layer needs ${want}`, {
      field: "params",
      expected: want,
      received: Object.keys(params).join(", ") || "none",
    });
  }
  const r = a.shape[0] ?? 0;
  const shapes = loraParamShapes(layer, r);
  for (const [t, [name, shape]] of [a, b].map((t, i) => [t, shapes[i]!] as const)) {
    if (t.shape.length !== shape.length || t.shape.some((v, i) => v !== shape[i])) {
      throw new LoraError(
        "invalid_params",
        `${name} has shape [${t.shape.join(", ")}], expected [${shape.join(", ")}] for this layer`,
        { field: name, expected: `[${shape.join(", ")}]`, received: `[${t.shape.join(", ")}]` },
      );
    }
  }
  return { a, b, r };
}
