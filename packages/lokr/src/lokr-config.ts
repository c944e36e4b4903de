import {
  invalidValueError,
  LycorisConfig,
  type LycorisConfigOptions,
  peftSilentWarningMessage,
} from "@lycoris-ts/lycoris-config";
import type { AdapterVariant } from "@lycoris-ts/runtime";
import { lokrVariant } from "./lokr-variant";

/** Options of {@link LoKrConfig}: the shared LyCORIS options plus LoKr's own, with PEFT's defaults. */
export interface LoKrConfigOptions extends LycorisConfigOptions {
  /** `use_effective_conv2d`: Tucker core (`lokr_t2`) for convolutions with a kernel larger than 1 (default false). */
  useEffectiveConv2d?: boolean;
  /** `decompose_both`: also factor the left Kronecker factor into `lokr_w1_a @ lokr_w1_b` (default false). */
  decomposeBoth?: boolean;
  /**
   * `decompose_factor`: target size of the factorisation (`-1`: most balanced; default -1). As in PEFT, 0 and
   * values below -1 act like 1 (every dimension splits as `(1, dimension)`); they are accepted with a warning.
   */
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

/** LoKr's own options (the compiler keeps this list complete). */
const LOKR_OPTIONS: Readonly<Record<Exclude<keyof LoKrConfigOptions, keyof LycorisConfigOptions>, true>> =
  Object.freeze({
    useEffectiveConv2d: true,
    decomposeBoth: true,
    decomposeFactor: true,
    rankDropoutScale: true,
    deltaLayout: true,
  });

function bool(field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw invalidValueError(field, "a boolean", value);
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
    super("LOKR", options, Object.keys(LOKR_OPTIONS));
    this.useEffectiveConv2d = bool("useEffectiveConv2d", options.useEffectiveConv2d, false);
    this.decomposeBoth = bool("decomposeBoth", options.decomposeBoth, false);
    const factor = options.decomposeFactor ?? -1;
    if (!Number.isInteger(factor)) throw invalidValueError("decomposeFactor", "an integer", factor);
    // PEFT's factorization splits 0 and factors below -1 as (1, dimension), like 1, without a word.
    if (factor === 0 || factor < -1) {
      this.warn(peftSilentWarningMessage("decompose_factor_as_one", "decompose_factor", factor));
    }
    this.decomposeFactor = factor;
    this.rankDropoutScale = bool("rankDropoutScale", options.rankDropoutScale, false);
    const layout = options.deltaLayout ?? "peft";
    if (layout !== "peft" && layout !== "kronecker") {
      throw invalidValueError("deltaLayout", '"peft" or "kronecker"', layout);
    }
    Object.defineProperty(this, "deltaLayout", { value: layout, enumerable: false });
  }

  /** The LoKr adapter variant (how the runtime finds the math for this config). */
  get variant(): AdapterVariant<LoKrConfig> {
    return lokrVariant;
  }
}
