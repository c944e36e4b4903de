import type { Tensor } from "@lycoris-ts/kernels";
import { peftToLycoris } from "@lycoris-ts/lycoris-format";
import { type AdapterRegistry, DEFAULT_ADAPTER_NAME } from "@lycoris-ts/runtime";
import { writeSafetensors } from "@lycoris-ts/safetensors";
import { checkOutputPath } from "./check-output-path";
import { type AdapterInput, type BaseInput, baseInputFiles, type FileOutput } from "./file-input";
import { locateAdapters, selectAdapters } from "./locate-adapters";
import { closeAdapters, openAdapters } from "./open-adapter";
import { openBaseModel } from "./open-base-model";
import type { TensorFile } from "./tensor-file";

/** Options of {@link convertPeftToKohya}. */
export interface ConvertPeftToKohyaOptions {
  /** The PEFT adapter directory (path or files). */
  readonly adapter: AdapterInput;
  /** Where to write the `.safetensors` file (a path atomically, never over an input; or a stream). */
  readonly out: FileOutput;
  /** Which adapter of the directory (`"default"`: the directory itself). */
  readonly adapterName?: string;
  /** kohya prefix of every key (default `lycoris`). */
  readonly prefix?: string;
  /** Module path removed before building the keys (`unet` for `lora_unet`). */
  readonly moduleRoot?: string;
  /** Optional base model: its weight shapes tell Conv1d from Conv2d Tucker cores. */
  readonly base?: BaseInput;
  readonly registry: AdapterRegistry;
}

/** What a conversion to a kohya / LyCORIS file wrote. */
export interface PeftToKohyaSummary {
  /** The variant's `peft_type`. */
  readonly algo: string;
  readonly modules: number;
  /** Modules whose scaling was multiplied into {@link scaleParameter} (no rank: every factor full). */
  readonly baked: number;
  /** The parameter the variant multiplies the scaling into (its `kohya.scaleParameter`), if any. */
  readonly scaleParameter: string | null;
  /** Unchanged base-weight copies left out. */
  readonly dropped: number;
}

/** One adapter of a PEFT directory as `peftToLycoris` takes it: config JSON and every tensor. */
async function readPeftAdapter(o: ConvertPeftToKohyaOptions) {
  const located = await locateAdapters(o.adapter, { allowFile: false });
  const [location] = selectAdapters(located, [o.adapterName ?? DEFAULT_ADAPTER_NAME]);
  const [adapter] = await openAdapters([location!], o.registry);
  try {
    const weights = new Map<string, Tensor<Float32Array>>();
    for (const name of adapter!.reader.names) weights.set(name, await adapter!.reader.read(name));
    return { config: adapter!.configFile!.json, weights };
  } finally {
    await closeAdapters([adapter!]);
  }
}

/**
 * Writes one adapter of a PEFT directory as a kohya / LyCORIS-format `.safetensors` file whose
 * loader ΔW equals PEFT's (see lycoris-format's `peftToLycoris`).
 *
 * @throws AdapterFilesError `input` when `adapter` is not a directory, `refused` when `out` is an
 *   input or lies inside the adapter directory; LycorisFormatError (`not_convertible`) for
 *   modules_to_save copies.
 */
export async function convertPeftToKohya(o: ConvertPeftToKohyaOptions): Promise<PeftToKohyaSummary> {
  await locateAdapters(o.adapter, { allowFile: false });
  await checkOutputPath(o.out, o.base === undefined ? [] : baseInputFiles(o.base), [o.adapter]);
  const input = await readPeftAdapter(o);
  let base: TensorFile | null = null;
  try {
    base = o.base === undefined ? null : await openBaseModel(o.base);
    const shapes = base;
    const written = peftToLycoris(input, {
      registry: o.registry,
      ...(o.prefix === undefined ? {} : { prefix: o.prefix }),
      ...(o.moduleRoot === undefined ? {} : { moduleRoot: o.moduleRoot }),
      ...(shapes === null ? {} : { weightShape: (m: string) => shapes.info(`${m}.weight`)?.shape }),
    });
    await writeSafetensors(o.out, written.tensors, { metadata: written.metadata });
    const algo = written.modules[0]?.algo ?? "";
    return {
      algo,
      modules: written.modules.length,
      baked: written.modules.filter((m) => m.scaleBaked).length,
      scaleParameter: algo === "" ? null : (o.registry.get(algo).kohya?.scaleParameter ?? null),
      dropped: written.dropped.length,
    };
  } finally {
    await base?.close();
  }
}
