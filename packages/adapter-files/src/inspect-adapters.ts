import { numel } from "@lycoris-ts/kernels";
import { camelToSnake, LycorisConfig } from "@lycoris-ts/lycoris-config";
import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { AdapterFilesError } from "./adapter-files-error";
import { type AdapterModuleDescription, describeModule } from "./describe-module";
import { type AdapterInput, inputName } from "./file-input";
import { locateAdapters, selectAdapters } from "./locate-adapters";
import { closeAdapters, type OpenedAdapter, openAdapters } from "./open-adapter";
import type { AdapterConfigFile } from "./read-adapter-config";

/** The file layout `inspect` found. */
export type AdapterFormat = "peft-directory" | "peft-safetensors" | "kohya-safetensors";

/** One adapter in an `inspect` report. */
export interface AdapterDescription {
  readonly name: string;
  /** The weights file (path, or a File's name). */
  readonly weightsPath: string;
  /** The config file (path, or a File's name), `null` without a config. */
  readonly configPath: string | null;
  /** From the config, else inferred from parameter names (several types joined by `+`). */
  readonly peftType: string | null;
  /** The config's fields (snake_case, as in the file) without PEFT's bookkeeping fields; `null` without a config. */
  readonly config: Readonly<Record<string, unknown>> | null;
  /** The config keys the variant adds to the shared LyCORIS options (LoKr: `decompose_both`, …), in file order. */
  readonly variantOptions: readonly string[];
  readonly modules: readonly AdapterModuleDescription[];
  /** Base tensors the adapter replaces in full (PEFT `modules_to_save` copies). */
  readonly replacedTensors: readonly string[];
  /** Saved base-layer weights (`<module>.base_layer.weight`, PEFT saves them for adapted embedding/output layers). */
  readonly baseLayerTensors: readonly string[];
  readonly totals: Totals;
}

/** Counts over modules and tensors. */
export interface Totals {
  readonly modules: number;
  readonly tensors: number;
  /** Number of adapter parameters (elements), modules_to_save copies included. */
  readonly parameters: number;
  /** Bytes of tensor data in the weights file. */
  readonly bytes: number;
}

/** What {@link inspectAdapters} reports (`lycoris inspect --json`). */
export interface InspectReport {
  readonly path: string;
  readonly format: AdapterFormat;
  readonly adapters: readonly AdapterDescription[];
  readonly totals: Totals & { readonly adapters: number };
}

const BOOKKEEPING = new Set([
  "auto_mapping",
  "base_model_name_or_path",
  "revision",
  "peft_version",
  "inference_mode",
]);

/** The keys of the file's config that the variant's config class adds to `LycorisConfig`'s. */
function variantOptionKeys(cf: AdapterConfigFile): string[] {
  const shared = new Set(Object.keys(new LycorisConfig(cf.peftType)));
  const own = new Set(
    Object.keys(cf.config)
      .filter((k) => !shared.has(k))
      .map(camelToSnake),
  );
  return Object.keys(cf.json).filter((k) => own.has(k));
}

async function describeAdapter(
  adapter: OpenedAdapter,
  registry: AdapterRegistry,
): Promise<AdapterDescription> {
  const { groups, reader, configFile, location } = adapter;
  const modules: AdapterModuleDescription[] = [];
  for (const m of groups.modules) {
    if (m.variant === null && m.params.size === 0 && m.other.size === 0) continue;
    modules.push(await describeModule(m, configFile?.config ?? null, reader, groups.naming === "kohya"));
  }
  let peftType = configFile?.peftType ?? null;
  if (peftType === null) {
    const types = [...new Set(modules.map((m) => m.peftType).filter((t): t is string => t !== null))];
    if (types.length === 0) {
      const known = registry.peftTypes().map((t) => `${t} (${registry.get(t).prefix}…)`);
      throw new AdapterFilesError(
        "input",
        `${reader.path}: cannot infer the adapter type from the tensor names: no parameter of a registered adapter type (registered: ${known.join(", ")})`,
        { path: reader.path },
      );
    }
    peftType = types.join("+");
  }
  const tensors = reader.header.tensors;
  const config =
    configFile === null
      ? null
      : Object.fromEntries(Object.entries(configFile.json).filter(([k]) => !BOOKKEEPING.has(k)));
  const variantOptions = configFile === null ? [] : variantOptionKeys(configFile);
  return {
    name: location.name,
    weightsPath: reader.path,
    configPath: location.config === null ? null : inputName(location.config),
    peftType,
    config,
    variantOptions,
    modules,
    replacedTensors: [...groups.replacements.keys()],
    baseLayerTensors: [...groups.baseLayer.keys()],
    totals: {
      modules: modules.length,
      tensors: tensors.length,
      parameters:
        modules.reduce((a, m) => a + m.numParams, 0) +
        [...groups.replacements.values()].reduce((a, i) => a + numel(i.shape), 0),
      bytes: tensors.reduce((a, t) => a + t.byteLength, 0),
    },
  };
}

/**
 * Inspects an adapter directory (PEFT, with any sub-adapters) or a bare safetensors file (PEFT or
 * kohya/LyCORIS key names, type inferred from parameter names). Reads headers only (plus kohya
 * `.alpha` scalars). Every variant is described through its registry hooks.
 *
 * @throws AdapterFilesError, SafetensorsError, AdapterError (`unknown_peft_type`), LycorisConfigError
 *   when the inputs cannot be read at all.
 */
export async function inspectAdapters(
  input: AdapterInput,
  registry: AdapterRegistry,
  opts: { readonly adapterNames?: readonly string[] } = {},
): Promise<InspectReport> {
  const located = await locateAdapters(input);
  const adapters = await openAdapters(selectAdapters(located, opts.adapterNames ?? []), registry);
  try {
    const described: AdapterDescription[] = [];
    for (const a of adapters) described.push(await describeAdapter(a, registry));
    const naming = adapters[0]!.groups.naming;
    const format: AdapterFormat =
      located.kind === "directory"
        ? "peft-directory"
        : naming === "peft"
          ? "peft-safetensors"
          : "kohya-safetensors";
    const sum = (f: (t: Totals) => number) => described.reduce((a, d) => a + f(d.totals), 0);
    return {
      path: inputName(input),
      format,
      adapters: described,
      totals: {
        adapters: described.length,
        modules: sum((t) => t.modules),
        tensors: sum((t) => t.tensors),
        parameters: sum((t) => t.parameters),
        bytes: sum((t) => t.bytes),
      },
    };
  } finally {
    await closeAdapters(adapters);
  }
}
