import { pythonRepr } from "./python-repr";

/** The id of a warning lycoris-ts emits about something PEFT accepts or ignores without a word. */
export type PeftSilentWarningId =
  | "regex_target_ignores_layer_selection"
  | "dropout_outside_unit_interval"
  | "negative_alpha"
  | "decompose_factor_as_one";

/** One entry of {@link PEFT_SILENT_WARNINGS}. */
export interface PeftSilentWarning {
  readonly id: PeftSilentWarningId;
  /** Matches every message of this warning, and no message of another entry. */
  readonly pattern: RegExp;
  /** What PEFT does, silently, in the situation the warning reports. */
  readonly peftBehaviour: string;
}

const SILENT = "(PEFT accepts it silently).";

/**
 * The one list of warnings lycoris-ts adds where PEFT says nothing. Everything else we warn about is a
 * warning PEFT emits too, with PEFT's text. The conformance runner accepts a warning PEFT did not emit
 * only if it matches an entry here; docs/peft-differences.md documents each entry.
 */
export const PEFT_SILENT_WARNINGS: readonly PeftSilentWarning[] = Object.freeze([
  {
    id: "regex_target_ignores_layer_selection",
    pattern:
      /^(layers_to_transform|layers_pattern)=.* is ignored because target_modules is a regular expression \(PEFT ignores it silently\)\.$/,
    peftBehaviour: "a regex target_modules ignores layers_to_transform and layers_pattern",
  },
  {
    id: "dropout_outside_unit_interval",
    pattern:
      /^(rank_dropout|module_dropout)=\S+ is outside \[0, 1\] and acts like [01]: .+ \(PEFT accepts it silently\)\.$/,
    peftBehaviour: "rank_dropout / module_dropout outside [0, 1] act like the nearest bound",
  },
  {
    id: "negative_alpha",
    pattern: /^(alpha|alpha_pattern\[.*\])=\S+ is negative: .+ \(PEFT accepts it silently\)\.$/,
    peftBehaviour: "a negative alpha gives a negative scaling alpha / r",
  },
  {
    id: "decompose_factor_as_one",
    pattern: /^decompose_factor=\S+ is neither -1 nor a positive integer; .+ \(PEFT accepts it silently\)\.$/,
    peftBehaviour: "LoKr decompose_factor 0 or below -1 factorises like 1: (1, dimension)",
  },
]);

/** The entry of {@link PEFT_SILENT_WARNINGS} whose pattern matches `message`, if any. */
export function findPeftSilentWarning(message: string): PeftSilentWarning | undefined {
  return PEFT_SILENT_WARNINGS.find((w) => w.pattern.test(message));
}

/**
 * The message of warning `id` about `field` (PEFT's snake_case name, e.g. `rank_dropout` or
 * `alpha_pattern['q_proj']`) holding `value`. Every message matches its entry's pattern.
 */
export function peftSilentWarningMessage(id: PeftSilentWarningId, field: string, value: unknown): string {
  const shown = `${field}=${pythonRepr(value)}`;
  switch (id) {
    case "regex_target_ignores_layer_selection":
      return `${shown} is ignored because target_modules is a regular expression (PEFT ignores it silently).`;
    case "dropout_outside_unit_interval": {
      const high = (value as number) > 1;
      const meaning =
        field === "module_dropout"
          ? high
            ? "in training the adapter is skipped at every step"
            : "the adapter is never skipped"
          : high
            ? "in training every output row of ΔW is dropped, so the adapter contributes nothing"
            : "no row of ΔW is ever dropped";
      return `${shown} is outside [0, 1] and acts like ${high ? 1 : 0}: ${meaning} ${SILENT}`;
    }
    case "negative_alpha":
      return `${shown} is negative: the scaling alpha / r is negative, so ΔW is added with its sign flipped ${SILENT}`;
    case "decompose_factor_as_one":
      return `${shown} is neither -1 nor a positive integer; it acts like decompose_factor=1, as in PEFT: every dimension splits as (1, dimension), so lokr_w1 is 1×1 and the right factor (lokr_w2, or lokr_w2_a @ lokr_w2_b) has the layer's whole shape ${SILENT}`;
  }
}
