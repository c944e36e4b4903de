import { readFileSync } from "node:fs";
import { LycorisConfig, type LycorisConfigOptions, parseAdapterConfigJson } from "../src/index";

/** The PEFT conformance fixtures, read from the repository (never copied into code). */
export const FIXTURES = new URL("../../../fixtures/peft/", import.meta.url);

export function readJson<T = unknown>(relative: string): T {
  return JSON.parse(readFileSync(new URL(relative, FIXTURES), "utf8")) as T;
}

export function readText(relative: string): string {
  return readFileSync(new URL(relative, FIXTURES), "utf8");
}

export interface FixtureAdapter {
  readonly name: string;
  readonly peft_type: string;
  readonly config: Record<string, unknown>;
}

/**
 * Variant fields and their PEFT defaults, standing in for the LoKr/LoHa config classes that live in their
 * own packages: this is how a variant extends the base config, so the tests exercise that path too.
 */
const VARIANT_FIELDS: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  LOKR: { useEffectiveConv2d: false, decomposeBoth: false, decomposeFactor: -1, rankDropoutScale: false },
  LOHA: { useEffectiveConv2d: false },
};

/** A config subclass shaped like the variant packages' (`class LoKrConfig extends LycorisConfig`). */
export class FixtureVariantConfig extends LycorisConfig {
  constructor(peftType: string, options: Record<string, unknown>) {
    super(peftType, options as LycorisConfigOptions);
    const fields = VARIANT_FIELDS[peftType] ?? {};
    for (const [key, fallback] of Object.entries(fields)) {
      (this as unknown as Record<string, unknown>)[key] = options[key] ?? fallback;
    }
  }
}

/** Builds a config from PEFT keyword arguments (snake_case), through the same boundary as files. */
export function configFromKwargs(peftType: string, kwargs: Record<string, unknown>): FixtureVariantConfig {
  const { options } = parseAdapterConfigJson({ ...kwargs, peft_type: peftType });
  return new FixtureVariantConfig(peftType, options);
}

/** Python set reprs (`{'b', 'a'}`) have hash-dependent order: sort their elements before comparing. */
export function normalizePythonMessage(message: string): string {
  return message.replace(
    /\{('[^']*'(?:, '[^']*')*)\}/g,
    (_, body: string) => `{${body.split(", ").sort().join(", ")}}`,
  );
}
