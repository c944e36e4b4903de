import type { LycorisConfig } from "@lycoris-ts/lycoris-config";
import { AdapterError } from "../errors";
import type { AdapterVariant } from "./adapter-variant";

/**
 * Adapter variants by `peft_type`. The runtime looks variants up here when it
 * loads adapter files; variant packages register themselves lazily (never at
 * import time), and a user's own variant registers the same way.
 */
export class AdapterRegistry {
  readonly #variants = new Map<string, AdapterVariant<LycorisConfig>>();

  /** Adds a variant. Registering the same object twice is a no-op; a different one under a taken type throws. */
  register<C extends LycorisConfig>(variant: AdapterVariant<C>): void {
    const key = variant.peftType.toUpperCase();
    const existing = this.#variants.get(key);
    if (existing === (variant as unknown)) return;
    if (existing !== undefined) {
      throw new AdapterError(
        "duplicate_variant",
        `a different adapter variant is already registered for peft_type '${key}'`,
        { field: "peftType", expected: "an unregistered peft_type", received: key },
      );
    }
    if (!variant.prefix || variant.parameterNames.some((n) => !n.startsWith(variant.prefix))) {
      throw new AdapterError(
        "invalid_variant",
        `variant '${key}': every parameter name must start with its prefix`,
        {
          field: "parameterNames",
          expected: `names starting with '${variant.prefix}'`,
          received: variant.parameterNames.join(", "),
        },
      );
    }
    this.#variants.set(key, variant as unknown as AdapterVariant<LycorisConfig>);
  }

  /** The variant for a `peft_type` (case-insensitive), or `undefined`. */
  find(peftType: string): AdapterVariant<LycorisConfig> | undefined {
    return this.#variants.get(peftType.toUpperCase());
  }

  /** The variant for a `peft_type`; throws `unknown_peft_type` listing the registered types. */
  get(peftType: string): AdapterVariant<LycorisConfig> {
    const v = this.find(peftType);
    if (v === undefined) {
      const known = this.peftTypes();
      throw new AdapterError(
        "unknown_peft_type",
        `unknown peft_type '${peftType}': registered adapter types are ${known.length ? known.join(", ") : "(none)"}`,
        { field: "peft_type", expected: known.join(" | ") || "a registered peft_type", received: peftType },
      );
    }
    return v;
  }

  /** Registered `peft_type`s, in registration order. */
  peftTypes(): string[] {
    return [...this.#variants.keys()];
  }
}

/** The process-wide registry used when no other registry is passed. */
export const defaultRegistry: AdapterRegistry = new AdapterRegistry();

/** Registers a variant in {@link defaultRegistry}. */
export function registerVariant<C extends LycorisConfig>(variant: AdapterVariant<C>): void {
  defaultRegistry.register(variant);
}
