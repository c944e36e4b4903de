import { registerLoHa } from "@lycoris-ts/loha";
import { registerLoKr } from "@lycoris-ts/lokr";
import { AdapterRegistry } from "@lycoris-ts/runtime";

/** A fresh adapter registry with every adapter type the CLI knows (LoKr, LoHa). */
export function createRegistry(): AdapterRegistry {
  const registry = new AdapterRegistry();
  registerLoKr(registry);
  registerLoHa(registry);
  return registry;
}
