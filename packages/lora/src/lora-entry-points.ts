import { variantEntryPoints } from "@lycoris-ts/runtime";
import { loraVariant } from "./lora-variant";

/** `registerLora(registry?)`, and the runtime's `loadPeftModel` / `loadAdapter` with LoRA registered first. */
export const { register: registerLora, loadPeftModel, loadAdapter } = variantEntryPoints(loraVariant);
