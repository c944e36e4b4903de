import { registerLoHa } from "@lycoris-ts/loha";
import { registerLoKr } from "@lycoris-ts/lokr";
import { registerLora } from "@lycoris-ts/lora";
import { AdapterRegistry } from "@lycoris-ts/runtime";

/** A registry with every adapter type the page reads (LoKr, LoHa, LoRA), as the CLI has. */
export function createRegistry(): AdapterRegistry {
  const registry = new AdapterRegistry();
  registerLoKr(registry);
  registerLoHa(registry);
  registerLora(registry);
  return registry;
}
