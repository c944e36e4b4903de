import { LycorisConfigError } from "./errors";

/** PEFT condenses list targets of at least this many entries (`MIN_TARGET_MODULES_FOR_OPTIMIZATION`). */
export const MIN_TARGET_MODULES_FOR_OPTIMIZATION = 20;

/** `a.b.c` → `["c", "b.c", "a.b.c"]`. */
function suffixes(name: string): string[] {
  const parts = name.split(".");
  return parts.map((_, i) => parts.slice(i).join(".")).reverse();
}

function compareLists(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] as string;
    const y = b[i] as string;
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/**
 * PEFT's `_find_minimal_target_modules`: the smallest set of dotted suffixes that selects exactly
 * `targetModules` and none of `otherModuleNames`. Returned sorted (PEFT returns a set).
 */
export function findMinimalTargetModules(
  targetModules: readonly string[],
  otherModuleNames: readonly string[],
): string[] {
  const targets = [...new Set(targetModules)];
  if (targets.includes("")) {
    throw new LycorisConfigError("invalid_value", "target_modules should not contain an empty string.", {
      field: "targetModules",
      expected: "non-empty module names",
      received: targetModules,
    });
  }
  const otherSuffixes = new Set(otherModuleNames.flatMap(suffixes));
  const entries = targets.map((t) => [t, suffixes(t)] as const).sort((a, b) => compareLists(a[1], b[1]));
  const required = new Set<string>();
  for (const [item, itemSuffixes] of entries) {
    for (const suffix of itemSuffixes) {
      if (required.has(suffix) || otherSuffixes.has(suffix)) continue;
      if (![...required].some((r) => item.endsWith(`.${r}`))) {
        required.add(suffix);
        break;
      }
    }
  }
  return required.size === 0 ? [...targets].sort() : [...required].sort();
}
