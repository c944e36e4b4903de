import { kohyaModuleKey } from "../kohya-names";
import { kohyaVariants } from "../kohya-variants";
import { LycorisFormatError } from "../lycoris-format-error";
import { keyPrefix } from "../lycoris-prefixes";
import { type ModuleKeyResolver, moduleKeyResolver } from "../module-key-resolver";
import { type AdapterTensorSuffixes, adapterTensorSuffixes } from "./adapter-tensor-suffix";
import { type BaseCheckpoint, type BaseTensorShapes, shapeMap } from "./base-checkpoint";
import { closestNames } from "./closest-names";
import type { AdapterKeyMap, AdapterLayout, ClosestBaseName, KeyMapEntry } from "./key-map-types";
import {
  groupTensors,
  type MapAdapterKeysOptions,
  noSuffixEntry,
  placed,
  type TensorGroup,
  unplacedFields,
} from "./map-adapter-keys";

/** Options of {@link mapGenericAdapterKeys}. */
export interface MapGenericAdapterKeysOptions extends MapAdapterKeysOptions {
  /** kohya file prefix → sub-model root (default: the defaults, or found from the keys; see `readLycorisAdapter`). */
  readonly prefixes?: Readonly<Record<string, string>>;
}

const PEFT_PREFIX = "base_model.model.";

/** The producer layout of a key resolved with file prefix `prefix` (`""`: a dotted module path). */
function layoutOf(key: string, prefix: string | null): AdapterLayout {
  if (prefix === null || prefix === "") return key.startsWith(PEFT_PREFIX) ? "peft" : "none";
  return prefix === "lycoris" ? "lycoris" : "kohya";
}

/** The `limit` base modules nearest to `key`, named in the key's own layout (its prefix, or dotted paths). */
function closestModules(
  key: string,
  prefix: string | null,
  root: string | undefined,
  moduleNames: readonly string[],
  limit: number,
): ClosestBaseName[] {
  const keys = new Map<string, string>();
  for (const m of moduleNames) {
    if (prefix !== null && root !== undefined) {
      if (root !== "" && !m.startsWith(`${root}.`)) continue;
      keys.set(kohyaModuleKey(root === "" ? m : m.slice(root.length + 1), prefix), m);
    } else {
      keys.set(key.startsWith(PEFT_PREFIX) ? PEFT_PREFIX + m : m, m);
    }
  }
  return closestNames(key, [...keys.keys()], limit).map((k) => ({
    key: k,
    tensor: `${keys.get(k)!}.weight`,
    slice: null,
  }));
}

function entry(
  g: TensorGroup,
  resolver: ModuleKeyResolver,
  base: Pick<BaseCheckpoint, "comfyKeys">,
  moduleNames: readonly string[],
  known: AdapterTensorSuffixes,
  limit: number,
): KeyMapEntry {
  if (g.suffixes.size === 0) return noSuffixEntry(g, known);
  try {
    const { moduleName, prefix } = resolver.resolve(g.moduleKey);
    const weight = { key: `${moduleName}.weight`, offset: null, function: null, tuple: false };
    return placed(base, g, weight, layoutOf(g.moduleKey, prefix), known);
  } catch (error) {
    if (!(error instanceof LycorisFormatError)) throw error;
    if (error.kind !== "unmatched_key" && error.kind !== "ambiguous_key") throw error;
    const prefix = keyPrefix(g.moduleKey, Object.keys(resolver.prefixes));
    const ambiguous = error.kind === "ambiguous_key";
    return {
      ...unplacedFields(g),
      layout: layoutOf(g.moduleKey, prefix),
      status: ambiguous ? "ambiguous" : "no_such_module",
      message: error.message,
      closest: ambiguous
        ? []
        : closestModules(
            g.moduleKey,
            prefix,
            prefix === null ? undefined : resolver.prefixes[prefix],
            moduleNames,
            limit,
          ),
    };
  }
}

/**
 * Places every module key of an adapter onto a model that is not an SD1.x / SDXL / Flux checkpoint
 * (tensor names are module paths, `<module>.weight`): keys resolved through kohya prefixes
 * (`lora_unet_…`, `lycoris_…`) or as dotted module paths (also after PEFT's `base_model.model.`) by
 * the same resolver merge and validate use (`readPrefixedLoaderPatches`), each module's tensors read
 * with ComfyUI's rules. A module patches `<module>.weight`, and `<module>.bias` for `diff_b` /
 * `b_norm` (not applied when the model has no such bias). Keys that name no module are reported with
 * the resolver's reason and the closest module names in the key's own layout; keys that name several
 * modules (or one another key named) as `ambiguous`. Names only: no tensor data, no shape checks.
 *
 * @param base the model's tensor names (and shapes, unused).
 * @param adapterTensorNames every tensor name of the adapter file.
 * @returns a key map with family `generic` and no components.
 */
export function mapGenericAdapterKeys(
  base: BaseTensorShapes,
  adapterTensorNames: Iterable<string>,
  options: MapGenericAdapterKeysOptions,
): AdapterKeyMap {
  const names = [...shapeMap(base).keys()];
  const comfyKeys: BaseCheckpoint["comfyKeys"] = new Map(names.map((n) => [n, { tensor: n, slice: null }]));
  const moduleNames = names.filter((n) => n.endsWith(".weight")).map((n) => n.slice(0, -".weight".length));
  const known = adapterTensorSuffixes(kohyaVariants(options.registry));
  const groups = groupTensors(adapterTensorNames, known);
  const resolver = moduleKeyResolver(
    groups.filter((g) => g.suffixes.size > 0).map((g) => g.moduleKey),
    moduleNames,
    options.prefixes,
  );
  const entries = groups.map((g) =>
    entry(g, resolver, { comfyKeys }, moduleNames, known, options.closest ?? 3),
  );
  return {
    family: "generic",
    components: [],
    entries,
    notLoaded: entries.flatMap((e) => e.unread),
    notApplied: entries.flatMap((e) => e.targets.filter((t) => !t.applied)),
  };
}
