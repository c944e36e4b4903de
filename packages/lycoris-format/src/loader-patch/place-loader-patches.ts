import type { Tensor } from "@lycoris-ts/kernels";
import type { AdapterRegistry } from "@lycoris-ts/runtime";
import type { AdapterKeyMap, KeyMapEntry, KeyMapTarget } from "../key-map/key-map-types";
import { LycorisFormatError } from "../lycoris-format-error";
import type { LoaderPatch } from "./loader-patch";
import { readLoaderPatch } from "./read-loader-patch";

/** One patch on one checkpoint tensor: the module's patch and where it lands. */
export interface LoaderPatchPlacement {
  /** The checkpoint tensor patched. */
  readonly tensor: string;
  readonly patch: LoaderPatch;
  /** The key map's target (part, rows, function). */
  readonly target: KeyMapTarget;
  readonly entry: KeyMapEntry;
}

/** Every applied patch of a key map, in file order, and the placed modules whose kind is not merged. */
export interface LoaderPatchPlacements {
  readonly placements: readonly LoaderPatchPlacement[];
  /** Placed module keys of a kind lycoris-ts does not merge (GLoRA, OFT, ...), with the reason. */
  readonly unsupported: readonly { readonly entry: KeyMapEntry; readonly error: LycorisFormatError }[];
}

/**
 * Reads the patch of every placed module key of `map` ({@link readLoaderPatch}) and lists it once
 * per applied target (weight, bias), in file order: what ComfyUI's `load_lora` hands to
 * `calculate_weight`. Apply them with `applyLoaderPatch`.
 *
 * @throws LycorisFormatError for modules whose tensors do not fit each other.
 */
export function placeLoaderPatches(
  map: AdapterKeyMap,
  tensors: ReadonlyMap<string, Tensor<Float32Array>>,
  registry: AdapterRegistry,
): LoaderPatchPlacements {
  const placements: LoaderPatchPlacement[] = [];
  const unsupported: { entry: KeyMapEntry; error: LycorisFormatError }[] = [];
  for (const entry of map.entries) {
    if (entry.status !== "placed") continue;
    let patch: LoaderPatch;
    try {
      patch = readLoaderPatch(entry, tensors, registry);
    } catch (error) {
      if (!(error instanceof LycorisFormatError && error.kind === "not_supported")) throw error;
      unsupported.push({ entry, error });
      continue;
    }
    for (const target of entry.targets) {
      if (target.applied && target.tensor !== null)
        placements.push({ tensor: target.tensor, patch, target, entry });
    }
  }
  return { placements, unsupported };
}
