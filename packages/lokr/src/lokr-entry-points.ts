import { variantEntryPoints } from "@lycoris-ts/runtime";
import { lokrVariant } from "./lokr-variant";

/** `registerLoKr(registry?)`, and the runtime's `loadPeftModel` / `loadAdapter` with LoKr registered first. */
export const { register: registerLoKr, loadPeftModel, loadAdapter } = variantEntryPoints(lokrVariant);
