import { Module } from "../model/module";
import type { Parameter } from "../model/parameter";

/** The per-adapter module of a {@link ParameterDict} with a leaf name (torch's `lora_A[adapter]`). */
class AdapterParameterHolder extends Module {
  readonly kind = "adapter_parameter";
}

/**
 * Parameters keyed by adapter name, like torch's `nn.ParameterDict`: an adapter
 * layer holds one per parameter name, so parameters are named
 * `<module>.lokr_w1.<adapter>` exactly as in PEFT. A dotted parameter name such
 * as LoRA's `lora_A.weight` is held like torch's `nn.ModuleDict` of layers: the
 * dict is `lora_A`, and each adapter's parameter is named
 * `<module>.lora_A.<adapter>.weight`, again as in PEFT.
 */
export class ParameterDict extends Module {
  readonly kind = "parameter_dict";
  /** The parameter name inside each adapter's entry (`"weight"` for `lora_A.weight`), or `null`. */
  readonly leaf: string | null;

  constructor(leaf: string | null = null) {
    super();
    this.leaf = leaf;
  }

  /** The parameter of `adapter`, or `null`. */
  get(adapter: string): Parameter | null {
    if (this.leaf === null) return this.getParameter(adapter);
    return this.children().get(adapter)?.getParameter(this.leaf) ?? null;
  }

  /** Sets (or replaces) the parameter of `adapter`. */
  set(adapter: string, p: Parameter): void {
    if (this.leaf === null) {
      this.registerParameter(adapter, p);
      return;
    }
    const holder = new AdapterParameterHolder();
    holder.training = this.training;
    holder.registerParameter(this.leaf, p);
    this.registerModule(adapter, holder);
  }

  /** Removes the parameter of `adapter`. */
  delete(adapter: string): void {
    if (this.leaf === null) this.deleteParameter(adapter);
    else this.deleteModule(adapter);
  }

  /** Adapter names that have a parameter here. */
  keys(): string[] {
    if (this.leaf !== null) return [...this.children().keys()];
    return [...this.namedParameters("", false)].map(([n]) => n);
  }
}
