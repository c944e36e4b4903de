import { KohyaKeyMap, KohyaNameError } from "./kohya-names";
import { LycorisFormatError } from "./lycoris-format-error";
import { resolveLycorisPrefixes } from "./lycoris-prefixes";

/** A file's module key resolved to a module of the model. */
export interface ResolvedModuleKey {
  /** The module path in the model. */
  readonly moduleName: string;
  /** The file prefix that matched (`lora_unet`, `lycoris`, ...); `""` for a key that is the module path itself. */
  readonly prefix: string;
}

/** Resolves the module keys of one file against a model's module names, each module at most once. */
export interface ModuleKeyResolver {
  /** File prefix → sub-model root used. */
  readonly prefixes: Readonly<Record<string, string>>;
  /**
   * The module `moduleKey` names: a kohya key (`<prefix>_<path with "_">`) through the prefixes, or
   * the module's dotted path itself (also after PEFT's `base_model.model.`).
   *
   * @throws LycorisFormatError `unmatched_key` (no module), `ambiguous_key` (several modules, or a
   *   module another key already named).
   */
  resolve(moduleKey: string): ResolvedModuleKey;
}

const PEFT_PREFIX = "base_model.model.";

/**
 * The resolver of a file's module keys (generic models: no checkpoint key map) with the kohya
 * prefixes' sub-model roots (`given`, else the defaults or found from the keys, see
 * {@link resolveLycorisPrefixes}).
 */
export function moduleKeyResolver(
  moduleKeys: readonly string[],
  moduleNames: readonly string[],
  given?: Readonly<Record<string, string>>,
): ModuleKeyResolver {
  const prefixes = resolveLycorisPrefixes(moduleKeys, moduleNames, given);
  const keyMap = new KohyaKeyMap(moduleNames, prefixes);
  const names = new Set(moduleNames);
  const seen = new Map<string, string>();
  const lookup = (key: string): ResolvedModuleKey => {
    const path = key.startsWith(PEFT_PREFIX) ? key.slice(PEFT_PREFIX.length) : key;
    if (names.has(path)) return { moduleName: path, prefix: "" };
    let match: ReturnType<KohyaKeyMap["fromKohya"]>;
    try {
      match = keyMap.fromKohya(`${key}.x`);
    } catch (error) {
      if (error instanceof KohyaNameError) throw new LycorisFormatError("ambiguous_key", key, error.message);
      throw error;
    }
    if (match === null) {
      const roots = Object.entries(prefixes).map(([p, r]) => `${p} → ${r === "" ? "(model root)" : r}`);
      throw new LycorisFormatError(
        "unmatched_key",
        key,
        `key '${key}' names no module of the model (prefixes: ${roots.length > 0 ? roots.join(", ") : "none recognised"})`,
      );
    }
    return { moduleName: match.moduleName, prefix: match.prefix };
  };
  return {
    prefixes,
    resolve(key) {
      const found = lookup(key);
      const previous = seen.get(found.moduleName);
      if (previous !== undefined) {
        throw new LycorisFormatError(
          "ambiguous_key",
          found.moduleName,
          `keys '${previous}' and '${key}' both name module '${found.moduleName}'`,
        );
      }
      seen.set(found.moduleName, key);
      return found;
    },
  };
}
