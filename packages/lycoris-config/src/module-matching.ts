import { LycorisConfigError } from "./errors";
import type { LycorisConfig } from "./lycoris-config";
import { compilePythonRegex } from "./python-regex";

/** The outcome of PEFT's `check_target_module_exists` for one module name. */
export type ModuleMatch = "matched" | "excluded" | "unmatched";

/** Tests module names against a config the way PEFT's `check_target_module_exists` does. */
export type ModuleMatcher = (name: string) => ModuleMatch;

/** True when `name` is `entry` or ends with `.entry` (PEFT's list matching). */
export function matchesNameOrSuffix(name: string, entries: readonly string[]): boolean {
  return entries.some((entry) => name === entry || name.endsWith(`.${entry}`));
}

/**
 * Builds PEFT's matcher for `config`, with `targetModules` being the target list/regex after PEFT's
 * preparation (model-type defaults, `"all-linear"` resolution, suffix condensing). Order of checks as PEFT:
 * `exclude_modules`, then `modules_to_save` (both give "excluded"), then the target (with the
 * `layers_to_transform` filter, which PEFT applies only to list targets matched by suffix).
 */
export function createModuleMatcher(
  config: LycorisConfig,
  targetModules: string | readonly string[],
): ModuleMatcher {
  const exclude = config.excludeModules;
  const excludeRegex =
    typeof exclude === "string" && exclude !== ""
      ? compilePythonRegex(exclude, "fullmatch", "excludeModules")
      : null;
  const excludeList = Array.isArray(exclude) && exclude.length > 0 ? (exclude as readonly string[]) : null;

  const modulesToSave = config.modulesToSave ?? [];
  const saveRegexes = modulesToSave.map((m) =>
    compilePythonRegex(`(^|.*\\.)${m}($|\\..*)`, "match", "modulesToSave"),
  );

  const targetRegex =
    typeof targetModules === "string"
      ? compilePythonRegex(targetModules, "fullmatch", "targetModules")
      : null;
  const targetList = typeof targetModules === "string" ? [] : targetModules;
  const targetSet = new Set(targetList);

  const indexes = config.layersToTransform;
  const usingLayerIndexes = indexes !== null && (typeof indexes === "number" || indexes.length > 0);
  const patterns = config.layersPattern;
  const layerRegexes: RegExp[] =
    patterns === null || patterns.length === 0
      ? [compilePythonRegex(".*?\\.[^.]*\\.(\\d+)\\.", "match", "layersPattern")]
      : (typeof patterns === "string" ? [patterns] : patterns).map((p) =>
          compilePythonRegex(`.*?\\.${p}\\.(\\d+)\\.`, "match", "layersPattern"),
        );

  return (name: string): ModuleMatch => {
    if (excludeRegex?.test(name) || (excludeList && matchesNameOrSuffix(name, excludeList)))
      return "excluded";
    if (saveRegexes.some((re) => re.test(name))) return "excluded";
    if (targetRegex) return targetRegex.test(name) ? "matched" : "unmatched";
    if (targetSet.has(name)) return "matched";
    let found = targetList.some((t) => name.endsWith(`.${t}`));
    if (found && usingLayerIndexes) {
      let group: string | undefined;
      for (const re of layerRegexes) {
        const m = re.exec(name);
        if (m) {
          group = m[1];
          break;
        }
      }
      if (group === undefined) found = false;
      else {
        if (!/^\d+$/.test(group)) {
          throw new LycorisConfigError(
            "invalid_value",
            `invalid literal for int() with base 10: '${group}' (the first group of \`layers_pattern\` must be the layer index)`,
            { field: "layersPattern", expected: "a pattern without capturing groups", received: patterns },
          );
        }
        const index = Number.parseInt(group, 10);
        found =
          typeof indexes === "number" ? index === indexes : (indexes as readonly number[]).includes(index);
      }
    }
    return found ? "matched" : "unmatched";
  };
}
