import { getPeftModel as getLoHaModel, LoHaConfig, registerLoHa } from "@lycoris-ts/loha";
import { getPeftModel as getLoKrModel, LoKrConfig, registerLoKr } from "@lycoris-ts/lokr";
import type { Module, PeftModel } from "@lycoris-ts/runtime";
import { TARGET_MODULES } from "./model";

/** Which LyCORIS variant to train. */
export type AdapterKind = "lokr" | "loha";

/** The adapter choices exposed as flags. */
export interface AdapterOptions {
  readonly adapter: AdapterKind;
  /** Rank `r`. */
  readonly r: number;
  /** `alpha` (scaling is alpha / r). */
  readonly alpha: number;
  /** LoKr only: also factor the left Kronecker factor (`decompose_both`). */
  readonly decomposeBoth: boolean;
  /** LoKr only: `decompose_factor` (-1: most balanced factorisation). */
  readonly decomposeFactor: number;
}

/**
 * The adapter config, written out so every PEFT option the example uses is
 * visible. Equivalent Python:
 * `LoKrConfig(r=r, alpha=alpha, target_modules=["conv1", "conv2", "fc1", "fc2"],
 *  decompose_both=..., decompose_factor=..., rank_dropout=0.0, module_dropout=0.0, init_weights=True)`.
 */
export function createAdapterConfig(o: AdapterOptions): LoKrConfig | LoHaConfig {
  if (o.adapter === "lokr") {
    return new LoKrConfig({
      r: o.r,
      alpha: o.alpha,
      targetModules: TARGET_MODULES, // both convs and both linear layers (head included)
      decomposeBoth: o.decomposeBoth,
      decomposeFactor: o.decomposeFactor,
      rankDropout: 0.0, // no dropout: a small model, a few epochs
      moduleDropout: 0.0,
      initWeights: true, // PEFT's default: ΔW = 0 at the start (the adapted model equals the base)
    });
  }
  return new LoHaConfig({
    r: o.r,
    alpha: o.alpha,
    targetModules: TARGET_MODULES,
    rankDropout: 0.0,
    moduleDropout: 0.0,
    initWeights: true,
  });
}

/** PEFT's `get_peft_model` for the chosen variant (injects into `base` in place). */
export function createPeftModel(base: Module, config: LoKrConfig | LoHaConfig, seed: number): PeftModel {
  return config instanceof LoKrConfig
    ? getLoKrModel(base, config, "default", { seed })
    : getLoHaModel(base, config, "default", { seed });
}

/** Registers both variants, so a saved adapter directory loads by its `peft_type`. */
export function registerVariants(): void {
  registerLoKr();
  registerLoHa();
}
