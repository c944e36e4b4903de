import { stat } from "node:fs/promises";
import { peftToLycoris } from "@lycoris-ts/lycoris-format";
import {
  type AdapterRegistry,
  DEFAULT_ADAPTER_NAME,
  readPeftAdapterDir,
  SafetensorsReader,
  serializeSafetensors,
  writeFileAtomic,
} from "@lycoris-ts/runtime";
import { checkOutputPath } from "./check-output-path";
import { CliError } from "./cli-error";

/** Options of {@link convertPeftToLycoris}. */
export interface ConvertPeftOptions {
  /** The PEFT adapter directory. */
  readonly adapter: string;
  /** The `.safetensors` file to write (atomically; never one of the inputs). */
  readonly out: string;
  /** Which adapter of the directory (`"default"`: the directory itself). */
  readonly adapterName?: string;
  /** kohya prefix of every key (default `lycoris`). */
  readonly prefix?: string;
  /** Module path removed before building the keys (`unet` for `lora_unet`). */
  readonly moduleRoot?: string;
  /** Optional base model: its weight shapes tell Conv1d from Conv2d Tucker cores. */
  readonly base?: string;
  readonly registry: AdapterRegistry;
}

/** What a conversion wrote. */
export interface ConvertPeftSummary {
  readonly out: string;
  readonly algo: string;
  readonly modules: number;
  /** Modules whose scaling was multiplied into {@link scaleParameter} (no rank: every factor full). */
  readonly baked: number;
  /** The parameter the variant multiplies the scaling into (its `kohya.scaleParameter`), if any. */
  readonly scaleParameter: string | null;
  readonly dropped: number;
}

/**
 * Writes one adapter of a PEFT directory as a kohya / LyCORIS-format `.safetensors` file whose
 * loader ΔW equals PEFT's (see `peftToLycoris`).
 *
 * @throws CliError `input` when `adapter` is not a directory, `refused` when `out` is an input or
 *   lies inside the adapter directory; LycorisFormatError (`not_convertible`) for modules_to_save
 *   copies; AdapterFileError for unreadable adapters.
 */
export async function convertPeftToLycoris(o: ConvertPeftOptions): Promise<ConvertPeftSummary> {
  const s = await stat(o.adapter).catch(() => null);
  if (s === null || !s.isDirectory()) {
    throw new CliError(
      "input",
      `${o.adapter}: expected a PEFT adapter directory (adapter_config.json + adapter_model.safetensors)`,
    );
  }
  await checkOutputPath(o.out, o.base === undefined ? [] : [o.base], [o.adapter]);
  const [files] = await readPeftAdapterDir(o.adapter, {
    adapterNames: [o.adapterName ?? DEFAULT_ADAPTER_NAME],
  });
  const base = o.base === undefined ? null : await SafetensorsReader.open(o.base);
  try {
    const written = peftToLycoris(files!, {
      registry: o.registry,
      ...(o.prefix === undefined ? {} : { prefix: o.prefix }),
      ...(o.moduleRoot === undefined ? {} : { moduleRoot: o.moduleRoot }),
      ...(base === null ? {} : { weightShape: (m: string) => base.info(`${m}.weight`)?.shape }),
    });
    await writeFileAtomic(o.out, serializeSafetensors(written.tensors, { metadata: written.metadata }));
    return {
      out: o.out,
      algo: written.modules[0]?.algo ?? "",
      modules: written.modules.length,
      baked: written.modules.filter((m) => m.scaleBaked).length,
      scaleParameter:
        written.modules[0] === undefined
          ? null
          : (o.registry.get(written.modules[0].algo).kohya?.scaleParameter ?? null),
      dropped: written.dropped.length,
    };
  } finally {
    await base?.close();
  }
}
