/** fixtures/peft-lora-conversion (FORMAT.md there): the JSON files' shapes the runner reads. */

/** One conversion PEFT attempted (`conversion.json` → `attempts`). */
export interface ConversionAttempt {
  readonly adapter: string;
  readonly rank: number;
  readonly rank_type: "int" | "float";
  readonly tag: string;
  readonly status: "ok" | "error";
  readonly dir: string | null;
  readonly stage?: "convert_to_lora" | "get_peft_model";
  readonly exception?: string;
  readonly message?: string;
  readonly effective_ranks?: Readonly<Record<string, number>>;
}

/** A case's `conversion.json`. */
export interface ConversionJson {
  readonly case: string;
  /** The converted PEFT case, relative to this case's folder (`../../peft/<case>`). */
  readonly source: string;
  readonly layers: ReadonlyArray<{
    readonly module: string;
    readonly kind: string;
    readonly adapters: readonly string[];
  }>;
  /** `min(out, in)` of each tuner layer's flattened ΔW, in `layers` order. */
  readonly svd_dims: readonly number[];
  readonly attempts: readonly ConversionAttempt[];
}

/** One converted module in a successful conversion's `expected.json`. */
export interface ConversionModuleExpectation {
  readonly effective_rank: number;
  readonly lora_A_shape: readonly number[];
  readonly lora_B_shape: readonly number[];
  readonly relative_error: number;
  readonly rank_robust: boolean;
  readonly truncation_well_conditioned: boolean;
  readonly ba_equivalent_ranks: readonly [number, number];
}

/** A successful conversion's `expected.json`. */
export interface ConversionExpected {
  readonly lora_config: {
    readonly rank_pattern: Readonly<Record<string, number>>;
    readonly target_modules: string | readonly string[];
  };
  readonly converted_modules: readonly string[];
  readonly modules: Readonly<Record<string, ConversionModuleExpectation>>;
  readonly state_dict_keys: readonly string[];
  /** The saved folder's tensor names, and why those not from the conversion are there. */
  readonly file_keys: readonly string[];
  readonly file_keys_not_from_conversion: Readonly<Record<string, string>>;
}
