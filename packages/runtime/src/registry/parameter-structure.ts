/** Shapes of one module's adapter parameters, by parameter name (`lokr_w1` → `[4, 4]`). */
export type ParameterShapes = ReadonlyMap<string, readonly number[]>;

/** How one factor of ΔW is stored: one full tensor, a low-rank product, or a Tucker core with its two factors. */
export type FactorForm = "full" | "lowrank" | "tucker";

/** One factor of ΔW as a variant stores it. */
export interface FactorDescription {
  /** The factor's name in the variant's math (LoKr `w1`, `w2`; LoHa `w1`, `w2`). */
  readonly name: string;
  readonly form: FactorForm;
  /** The parameters that hold it (`lokr_w2_a`, `lokr_w2_b`, `lokr_t2`). */
  readonly params: readonly string[];
}

/**
 * What a variant reads from one module's parameter shapes alone (no base model): the form of each
 * factor and the rank. `inspect` shows it; the kohya / LyCORIS loaders divide `alpha` by `rank`.
 */
export interface ParameterStructure {
  readonly ok: true;
  readonly factors: readonly FactorDescription[];
  /**
   * The inner rank of the low-rank / Tucker factors, as the kohya loaders read it (they divide
   * `alpha` by it); `null` when every factor is full (the loaders then use scale 1 and ignore alpha).
   */
  readonly rank: number | null;
  /** The variant's structure flags as PEFT's tooling names them (LoKr `{ w1, w2 }`, LoHa `{ effective_conv }`). */
  readonly flags: Readonly<Record<string, string | boolean>>;
  /** One line for reports: `w1 full, w2 lowrank`. */
  readonly summary: string;
}

/** Why a set of parameter shapes is not a module of the variant. */
export interface ParameterProblem {
  readonly ok: false;
  /** `missing_parameter`: the set lacks a tensor its structure needs; `shape_mismatch`: factors that do not fit each other. */
  readonly kind: "missing_parameter" | "shape_mismatch";
  /** One sentence naming the parameters and their shapes (no module name: the caller adds it). */
  readonly message: string;
}
