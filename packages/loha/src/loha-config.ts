import { invalidValueError, LycorisConfig, type LycorisConfigOptions } from "@lycoris-ts/lycoris-config";
import type { AdapterVariant } from "@lycoris-ts/runtime";
import { lohaVariant } from "./loha-variant";

/** Options of {@link LoHaConfig}: the shared LyCORIS options plus LoHa's own, with PEFT's defaults. */
export interface LoHaConfigOptions extends LycorisConfigOptions {
  /** `use_effective_conv2d`: Tucker cores (`hada_t1`, `hada_t2`) for convolutions with a kernel larger than 1 (default false). */
  useEffectiveConv2d?: boolean;
}

/**
 * PEFT's `LoHaConfig`: a LyCORIS config whose adapters are Hadamard products of
 * two low-rank products, `ΔW = (alpha / r) · (w1_a·w1_b) ⊙ (w2_a·w2_b)`.
 * Like PEFT, `initWeights: "lycoris"` is accepted without complaint (PEFT's
 * LoHa treats it like `true`; see docs/peft-differences.md).
 *
 * @example
 * const config = new LoHaConfig({ r: 8, alpha: 16, targetModules: ["q_proj", "v_proj"] });
 */
export class LoHaConfig extends LycorisConfig {
  readonly useEffectiveConv2d: boolean;

  constructor(options: LoHaConfigOptions = {}) {
    super("LOHA", options, ["useEffectiveConv2d"] satisfies (keyof LoHaConfigOptions)[]);
    const v = options.useEffectiveConv2d ?? false;
    if (typeof v !== "boolean") throw invalidValueError("useEffectiveConv2d", "a boolean", v);
    this.useEffectiveConv2d = v;
  }

  /** The LoHa adapter variant (how the runtime finds the math for this config). */
  get variant(): AdapterVariant<LoHaConfig> {
    return lohaVariant;
  }
}
