import { LycorisConfig, LycorisConfigError, type LycorisConfigOptions } from "@lycoris-ts/lycoris-config";
import type { AdapterVariant } from "@lycoris-ts/runtime";
import { lokrVariant } from "./lokr-variant";

/** Options of {@link LoKrConfig}: the shared LyCORIS options plus LoKr's own, with PEFT's defaults. */
export interface LoKrConfigOptions extends LycorisConfigOptions {
  /** `use_effective_conv2d`: Tucker core (`lokr_t2`) for convolutions with a kernel larger than 1 (default false). */
  useEffectiveConv2d?: boolean;
  /** `decompose_both`: also factor the left Kronecker factor into `lokr_w1_a @ lokr_w1_b` (default false). */
  decomposeBoth?: boolean;
  /** `decompose_factor`: target size of the factorisation (`-1`: most balanced; default -1). */
  decomposeFactor?: number;
  /** `rank_dropout_scale`: divide the rank-dropout mask by its mean (default false). */
  rankDropoutScale?: boolean;
  /**
   * Not a PEFT field (never written to `adapter_config.json`): `"peft"` (default) reproduces PEFT's ΔW for a
   * Conv1d with a full 3-D `lokr_w2` (a permuted layout, see docs/peft-differences.md); `"kronecker"` uses
   * the true Kronecker layout. Use `"peft"` for files PEFT wrote.
   */
  deltaLayout?: "peft" | "kronecker";
}

function bool(field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") {
    throw new LycorisConfigError("invalid_value", `Invalid value for \`${field}\`: expected a boolean.`, {
      field,
      expected: "a boolean",
      received: value,
    });
  }
  return value;
}

/**
 * PEFT's `LoKrConfig`: a LyCORIS config whose adapters are low-rank Kronecker
 * products `ΔW = (alpha / r) · w1 ⊗ w2`.
 *
 * @example
 * const config = new LoKrConfig({ r: 8, alpha: 16, targetModules: ["q_proj", "v_proj"], decomposeBoth: true });
 */
export class LoKrConfig extends LycorisConfig {
  readonly useEffectiveConv2d: boolean;
  readonly decomposeBoth: boolean;
  readonly decomposeFactor: number;
  readonly rankDropoutScale: boolean;
  /** See {@link LoKrConfigOptions.deltaLayout} (not serialised). */
  declare readonly deltaLayout: "peft" | "kronecker";

  constructor(options: LoKrConfigOptions = {}) {
    super("LOKR", options);
    this.useEffectiveConv2d = bool("useEffectiveConv2d", options.useEffectiveConv2d, false);
    this.decomposeBoth = bool("decomposeBoth", options.decomposeBoth, false);
    const factor = options.decomposeFactor ?? -1;
    if (!Number.isInteger(factor) || factor === 0 || factor < -1) {
      throw new LycorisConfigError(
        "invalid_value",
        "Invalid value for `decomposeFactor`: expected -1 or a positive integer.",
        {
          field: "decomposeFactor",
          expected: "-1 or a positive integer",
          received: factor,
        },
      );
    }
    this.decomposeFactor = factor;
    this.rankDropoutScale = bool("rankDropoutScale", options.rankDropoutScale, false);
    const layout = options.deltaLayout ?? "peft";
    if (layout !== "peft" && layout !== "kronecker") {
      throw new LycorisConfigError(
        "invalid_value",
        'Invalid value for `deltaLayout`: expected "peft" or "kronecker".',
        {
          field: "deltaLayout",
          expected: '"peft" | "kronecker"',
          received: layout,
        },
      );
    }
    Object.defineProperty(this, "deltaLayout", { value: layout, enumerable: false });
  }

  /** The LoKr adapter variant (how the runtime finds the math for this config). */
  get variant(): AdapterVariant<LoKrConfig> {
    return lokrVariant;
  }
}
