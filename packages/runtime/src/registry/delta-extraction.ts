import type { Tensor } from "@lycoris-ts/kernels";

/**
 * How many singular directions an extraction keeps, LyCORIS's `extract_locon` modes (per layer, from the
 * singular values `S` of ΔW, largest first):
 *
 * - `fixed`: exactly `rank`;
 * - `threshold`: the number of `Sᵢ > threshold`;
 * - `ratio`: the number of `Sᵢ > ratio · S₀` (`ratio ∈ [0, 1]`);
 * - `quantile`: the number of prefixes whose running sum `S₀ + … + Sᵢ` is below `quantile · ΣS`
 *   (`quantile ∈ [0, 1]`; LyCORIS sums the singular values, not their squares).
 *
 * The rank is then clamped to `[1, min(out, in·∏kernel)]`, as LyCORIS does.
 */
export type RankSelection =
  | { readonly mode: "fixed"; readonly rank: number }
  | { readonly mode: "threshold"; readonly threshold: number }
  | { readonly mode: "ratio"; readonly ratio: number }
  | { readonly mode: "quantile"; readonly quantile: number };

/** Options of {@link AdapterVariant.extractFromDelta}; a variant reads the ones that apply to it. */
export interface DeltaExtractionOptions {
  /** How the rank is chosen (LoRA: of ΔW; LoKr: the rank of `w2` and, with `decomposeBoth`, `w1`). */
  readonly rank?: RankSelection;
  /** LoKr's `decompose_factor` (`-1`: the most balanced split). */
  readonly factor?: number;
  /** LoKr's `decompose_both`: `w1` as a rank-r product too. */
  readonly decomposeBoth?: boolean;
}

/** One layer's adapter, extracted from its ΔW. */
export interface ExtractedModule {
  /** Parameters under the variant's PEFT names, float32. With scaling `alpha / r` they give the approximation. */
  readonly params: Record<string, Tensor<Float32Array>>;
  /** The module's `r` in the adapter config (goes to `rank_pattern` where it differs from the most common). */
  readonly r: number;
  /** The module's alpha in the adapter config. */
  readonly alpha: number;
  /** `‖ΔW − approximation‖_F / ‖ΔW‖_F`, computed from the float32 parameters as stored (float64 sums). */
  readonly relativeError: number;
  /** A short description of the factors for reports (`w1 [64, 64] ⊗ w2 [64, 8]·[8, 64]`, `rank 16`). */
  readonly structure: string;
}

/** What {@link AdapterVariant.extractFromDelta} returns. */
export interface DeltaExtraction {
  readonly module: ExtractedModule;
  /**
   * Config options (camelCase, as `createConfig` takes them) the parameters need besides `r`, alpha and the
   * targets (LoKr: `decomposeBoth`, `decomposeFactor`, `useEffectiveConv2d`); the same for every layer of one
   * extraction.
   */
  readonly configOptions: Readonly<Record<string, unknown>>;
}
