import { variantEntryPoints } from "@lycoris-ts/runtime";
import { lohaVariant } from "./loha-variant";

/** `registerLoHa(registry?)`, and the runtime's `loadPeftModel` / `loadAdapter` with LoHa registered first. */
export const { register: registerLoHa, loadPeftModel, loadAdapter } = variantEntryPoints(lohaVariant);
