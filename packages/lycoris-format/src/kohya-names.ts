/**
 * Key names of kohya / LyCORIS ("webui") adapter files:
 * `<prefix>_<module path below the sub-model root, "." → "_">.<tensor>`, e.g.
 * `lora_unet_down_blocks_0_attentions_0_proj_in.alpha`. The `.` → `_` replacement is not
 * invertible (`proj_in`, `to_out_0`), so the reverse direction needs the model's module names.
 */

import { LycorisError } from "@lycoris-ts/errors";
import { LycorisFormatError } from "./lycoris-format-error";

/** The prefix the LyCORIS standalone wrapper (`create_lycoris`) writes. */
export const LYCORIS_PREFIX = "lycoris";

/** The kohya module key: `prefix + "_" + moduleName with "." replaced by "_"`. */
export function kohyaModuleKey(moduleName: string, prefix: string = LYCORIS_PREFIX): string {
  return `${prefix}_${moduleName.replace(/\./g, "_")}`;
}

/**
 * The kohya/LyCORIS file key of a PEFT parameter: `peftKeyToKohya("attn.to_out.0", "alpha")`
 * is `"lycoris_attn_to_out_0.alpha"`. `moduleName` is the module path below the sub-model the
 * prefix stands for (for `lora_unet`, the path inside the UNet).
 */
export function peftKeyToKohya(moduleName: string, param: string, prefix: string = LYCORIS_PREFIX): string {
  return `${kohyaModuleKey(moduleName, prefix)}.${param}`;
}

/** A kohya key resolved to a module of the model. */
export interface KohyaKeyMatch {
  /** The module's full dotted name in the model (root path included). */
  readonly moduleName: string;
  /** The tensor name after the module key (a factor name, `alpha`, `lora_down.weight`, ...). */
  readonly param: string;
  /** The file prefix that matched (`lora_unet`, `lycoris`, ...). */
  readonly prefix: string;
}

/** A kohya key that names two or more modules of the model. */
export class KohyaNameError extends LycorisError {
  override readonly name = "KohyaNameError";
  /** The module key that is ambiguous. */
  readonly key: string;
  /** Every module name it could stand for. */
  readonly candidates: readonly string[];

  constructor(key: string, candidates: readonly string[]) {
    super(
      "ambiguous_key",
      `kohya key '${key}' is ambiguous: it matches the modules ${candidates.map((c) => `'${c}'`).join(", ")}`,
    );
    this.key = key;
    this.candidates = candidates;
  }
}

/**
 * Both directions of the kohya naming for one model. Built from the model's module names (all
 * of them, or only the adaptable ones: fewer names leave fewer collisions) and the file's
 * prefixes, each mapped to the root path of the sub-model it covers (`""` for the whole model).
 *
 * @example
 * const names = new KohyaKeyMap(modelModuleNames, { lora_unet: "unet", lora_te: "text_encoder" });
 * names.fromKohya("lora_unet_mid_block_attentions_0_proj_in.alpha");
 * // { moduleName: "unet.mid_block.attentions.0.proj_in", param: "alpha", prefix: "lora_unet" }
 */
export class KohyaKeyMap {
  private readonly byKey = new Map<string, { prefix: string; modules: string[] }>();
  private readonly roots: ReadonlyArray<readonly [prefix: string, root: string]>;

  constructor(
    moduleNames: Iterable<string>,
    prefixes: Readonly<Record<string, string>> = { [LYCORIS_PREFIX]: "" },
  ) {
    // Longest root first, so a module is named by the most specific sub-model.
    this.roots = Object.entries(prefixes).sort((a, b) => b[1].length - a[1].length);
    for (const name of moduleNames) {
      for (const [prefix, root] of this.roots) {
        const relative = relativeTo(name, root);
        if (relative === null || relative === "") continue;
        const key = kohyaModuleKey(relative, prefix);
        const hit = this.byKey.get(key);
        if (hit === undefined) this.byKey.set(key, { prefix, modules: [name] });
        else if (!hit.modules.includes(name)) hit.modules.push(name);
      }
    }
  }

  /**
   * The file key of `param` of the module `moduleName` (full model path), using the prefix of
   * the most specific sub-model that contains it.
   *
   * @throws LycorisFormatError (`unmatched_key`) when no prefix covers the module.
   */
  toKohya(moduleName: string, param: string): string {
    for (const [prefix, root] of this.roots) {
      const relative = relativeTo(moduleName, root);
      if (relative !== null && relative !== "") return peftKeyToKohya(relative, param, prefix);
    }
    throw new LycorisFormatError(
      "unmatched_key",
      moduleName,
      `module '${moduleName}' is under none of the prefixes' roots`,
    );
  }

  /**
   * Resolves a file key (`<module key>.<param>`) to the model module it names.
   *
   * @returns `null` when no module of the model has that key.
   * @throws KohyaNameError when two modules of the model share the key.
   */
  fromKohya(key: string): KohyaKeyMatch | null {
    const dot = key.indexOf(".");
    if (dot <= 0) return null;
    const moduleKey = key.slice(0, dot);
    const hit = this.byKey.get(moduleKey);
    if (hit === undefined) return null;
    if (hit.modules.length > 1) throw new KohyaNameError(moduleKey, hit.modules);
    return { moduleName: hit.modules[0]!, param: key.slice(dot + 1), prefix: hit.prefix };
  }
}

function relativeTo(name: string, root: string): string | null {
  if (root === "") return name;
  if (name === root) return "";
  return name.startsWith(`${root}.`) ? name.slice(root.length + 1) : null;
}

/**
 * One-shot reverse of {@link peftKeyToKohya}: resolves `key` against the model's module names.
 * Build a {@link KohyaKeyMap} instead when resolving many keys.
 *
 * @throws KohyaNameError when the key is ambiguous for this model.
 */
export function kohyaKeyToPeft(
  key: string,
  moduleNames: Iterable<string>,
  prefixes: Readonly<Record<string, string>> = { [LYCORIS_PREFIX]: "" },
): KohyaKeyMatch | null {
  return new KohyaKeyMap(moduleNames, prefixes).fromKohya(key);
}
