import { Module } from "../model/module";
import type { Parameter } from "../model/parameter";

/**
 * Parameters keyed by adapter name, like torch's `nn.ParameterDict`: an adapter
 * layer holds one per parameter name, so parameters are named
 * `<module>.lokr_w1.<adapter>` exactly as in PEFT.
 */
export class ParameterDict extends Module {
  readonly kind = "parameter_dict";

  /** The parameter of `adapter`, or `null`. */
  get(adapter: string): Parameter | null {
    return this.getParameter(adapter);
  }

  /** Sets (or replaces) the parameter of `adapter`. */
  set(adapter: string, p: Parameter): void {
    this.registerParameter(adapter, p);
  }

  /** Removes the parameter of `adapter`. */
  delete(adapter: string): void {
    this.deleteParameter(adapter);
  }

  /** Adapter names that have a parameter here. */
  keys(): string[] {
    return [...this.namedParameters("", false)].map(([n]) => n);
  }
}
