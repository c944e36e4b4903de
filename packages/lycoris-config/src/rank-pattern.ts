import { LycorisConfigError } from "./errors";
import type { LycorisConfig } from "./lycoris-config";
import { compilePythonRegex } from "./python-regex";

/** Rank and alpha of one adapted module. */
export interface RankAndAlpha {
  readonly r: number;
  readonly alpha: number;
}

/**
 * PEFT's `get_pattern_key`: the first key (in key order) for which `re.match(rf"(.*\.)?({key})$", name)`
 * succeeds, else the module name itself. Note: JavaScript orders integer-like keys ("0", "12") of a plain
 * object before all others, so such keys do not keep their written position.
 */
export function findPatternKey(
  keys: readonly string[],
  moduleName: string,
  field: "rankPattern" | "alphaPattern",
): string {
  for (const key of keys) {
    if (compilePythonRegex(`(.*\\.)?(${key})$`, "match", field).test(moduleName)) return key;
  }
  return moduleName;
}

function lookup(pattern: Readonly<Record<string, number>>, key: string, fallback: number): number {
  return Object.hasOwn(pattern, key) ? (pattern[key] as number) : fallback;
}

/**
 * Rank and alpha PEFT gives the module `moduleName` (full dotted name): `rank_pattern` and `alpha_pattern`
 * are resolved separately, each by its first matching key. Throws a {@link LycorisConfigError} of kind
 * `"invalid_rank"` (PEFT's message) when the resulting rank is not a positive integer, which PEFT checks when
 * it creates the adapter layer; scaling is `alpha / r`.
 */
export function resolveRankAndAlpha(config: LycorisConfig, moduleName: string): RankAndAlpha {
  const rKey = findPatternKey(Object.keys(config.rankPattern), moduleName, "rankPattern");
  const alphaKey = findPatternKey(Object.keys(config.alphaPattern), moduleName, "alphaPattern");
  const r = lookup(config.rankPattern, rKey, config.r);
  const alpha = lookup(config.alphaPattern, alphaKey, config.alpha);
  if (!(r > 0) || !Number.isInteger(r)) {
    throw new LycorisConfigError(
      "invalid_rank",
      `\`r\` should be a positive integer value but the value passed is ${String(r)}`,
      {
        field: Object.hasOwn(config.rankPattern, rKey) ? `rankPattern.${rKey}` : "r",
        expected: "a positive integer",
        received: r,
      },
    );
  }
  return { r, alpha };
}

/**
 * The checks PEFT makes when it injects an adapter into the module `moduleName` (currently the rank check
 * of {@link resolveRankAndAlpha}); throws a {@link LycorisConfigError} of kind `"invalid_rank"`.
 */
export function validateForInjection(config: LycorisConfig, moduleName: string): void {
  resolveRankAndAlpha(config, moduleName);
}
