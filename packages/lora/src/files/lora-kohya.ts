import type { KohyaFormat } from "@lycoris-ts/runtime";

/**
 * LoRA in kohya / LyCORIS files (kohya's LoCon form): `lora_down.weight` is PEFT's `lora_A.weight`,
 * `lora_up.weight` its `lora_B.weight`, same shapes (convs: `lora_down` carries the kernel, `lora_up` is
 * 1×…×1); the loaders' rank is `lora_down`'s first dimension. kohya's Tucker `lora_mid.weight` has no PEFT
 * counterpart and is not read here; embeddings have no kohya form. PEFT needs no options beyond r / `lora_alpha`.
 */
export const loraKohya: KohyaFormat = {
  algo: "lora",
  tensorNames: { "lora_down.weight": "lora_A.weight", "lora_up.weight": "lora_B.weight" },
  configNames: { alpha: "loraAlpha", initWeights: "initLoraWeights" },
  peftOptions: () => [{}],
};
