import {
  type AdapterKeyMap,
  baseCheckpointFamily,
  mapAdapterKeys,
  mapGenericAdapterKeys,
} from "@lycoris-ts/lycoris-format";
import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { type FileInput, inputName } from "./file-input";
import { openBaseModel } from "./open-base-model";
import { openTensorFile } from "./tensor-file";

/** Counts over a {@link PlacementReport}. */
export interface PlacementTotals {
  /** Adapter module keys (tensor names before their tensor suffix, plus names without a known suffix). */
  readonly moduleKeys: number;
  /** Module keys with at least one target in the checkpoint. */
  readonly placed: number;
  /** Module keys the loaders map to a target the checkpoint does not have. */
  readonly notApplied: number;
  /** Module keys that name no module of the checkpoint, name several (generic models), or have no known layout. */
  readonly notPlaced: number;
  /** Adapter tensors. */
  readonly tensors: number;
  /** Adapter tensors the loaders do not read ("lora key not loaded"). */
  readonly notLoaded: number;
}

/**
 * Where every adapter key lands on a base checkpoint (`lycoris inspect <adapter> --base <ckpt>`):
 * lycoris-format's key map (entries with targets, rows, functions, applied or not; reasons and
 * closest base names for keys that are not placed) with the files' names and totals. `family` is
 * `generic` for a model that is not an SD1.x / SDXL / Flux checkpoint.
 */
export interface PlacementReport extends AdapterKeyMap {
  /** The adapter file (path, or a File's name). */
  readonly adapter: string;
  /** The base checkpoint (path, or a File's name). */
  readonly base: string;
  readonly totals: PlacementTotals;
}

/** Options of {@link inspectPlacement}. */
export interface InspectPlacementOptions {
  /** Registry holding the variants whose kohya tensors the adapter may hold. */
  readonly registry: AdapterRegistry;
  /** How many closest base names to report for a key that is not placed (default 3). */
  readonly closest?: number;
}

/**
 * Places every key of an adapter `.safetensors` file (kohya, LyCORIS, ComfyUI / ai-toolkit,
 * diffusers, OneTrainer or PEFT names) onto a base checkpoint as ComfyUI's loader does
 * (lycoris-format's `mapAdapterKeys`); onto any other model (tensor names `<module>.weight`) through
 * the file's kohya prefixes or dotted module paths, as merge and validate resolve them
 * (`mapGenericAdapterKeys`). Reads the two headers only.
 *
 * @throws SafetensorsError / AdapterFilesError when a file cannot be read; LycorisFormatError
 *   (`shape_mismatch`) for an SD1.x / SDXL / Flux checkpoint with a malformed fused tensor.
 */
export async function inspectPlacement(
  adapter: FileInput,
  base: FileInput,
  options: InspectPlacementOptions,
): Promise<PlacementReport> {
  const reader = await openTensorFile(adapter);
  let names: string[];
  try {
    names = [...reader.names];
  } finally {
    await reader.close();
  }
  const checkpoint = await openBaseModel(base);
  let map: AdapterKeyMap;
  try {
    const shapes = checkpoint.header.tensors;
    const o = {
      registry: options.registry,
      ...(options.closest === undefined ? {} : { closest: options.closest }),
    };
    map =
      baseCheckpointFamily(shapes) === null
        ? mapGenericAdapterKeys(shapes, names, o)
        : mapAdapterKeys(shapes, names, o);
  } finally {
    await checkpoint.close();
  }
  const count = (status: string) => map.entries.filter((e) => e.status === status).length;
  return {
    adapter: inputName(adapter),
    base: inputName(base),
    ...map,
    totals: {
      moduleKeys: map.entries.length,
      placed: count("placed"),
      notApplied: count("not_applied"),
      notPlaced: count("no_such_module") + count("unknown_layout") + count("ambiguous"),
      tensors: names.length,
      notLoaded: map.notLoaded.length,
    },
  };
}
