import type { Tensor } from "@lycoris-ts/kernels";
import { lycorisToPeft } from "@lycoris-ts/lycoris-format";
import { type AdapterRegistry, writePeftAdapterDir } from "@lycoris-ts/runtime";
import { AdapterFilesError } from "./adapter-files-error";
import { checkPeftOutput } from "./check-peft-output";
import { type BaseInput, baseInputFiles, type FileInput, inputName } from "./file-input";
import { readKohyaFile } from "./kohya-file";
import { openBaseModel } from "./open-base-model";

/** Options of {@link convertKohyaToPeft}. */
export interface ConvertKohyaToPeftOptions {
  /** The kohya / LyCORIS-format file. */
  readonly adapter: FileInput;
  /** The base model: its module names resolve the keys, its weight shapes fix the layers. */
  readonly base: BaseInput;
  /** The PEFT adapter directory to write (Node.js; refused when it already holds an adapter); omit to only get the data. */
  readonly out?: string;
  readonly prefixes?: Readonly<Record<string, string>>;
  readonly registry: AdapterRegistry;
}

/** A conversion to PEFT: the adapter as PEFT stores it, and a summary. */
export interface KohyaToPeftResult {
  readonly peftType: string;
  readonly modules: number;
  readonly r: number;
  readonly alpha: number;
  /** Entries of `rank_pattern` and `alpha_pattern`. */
  readonly patterns: number;
  /** `adapter_config.json`'s text. */
  readonly configJson: string;
  /** `adapter_model.safetensors`'s tensors (`base_model.model.<module>.<param>`). */
  readonly weights: ReadonlyMap<string, Tensor<Float32Array>>;
}

/**
 * Converts a kohya / LyCORIS-format file to a PEFT adapter whose PEFT delta equals the loaders'
 * delta (see lycoris-format's `lycorisToPeft`), and writes it to `out` when given.
 *
 * @throws AdapterFilesError `unsupported` with the reason when PEFT cannot express the adapter (DoRA,
 *   mixed algorithms, factor splits), `refused` when `out` already holds an adapter or is an input.
 */
export async function convertKohyaToPeft(o: ConvertKohyaToPeftOptions): Promise<KohyaToPeftResult> {
  if (o.out !== undefined) await checkPeftOutput(o.out, [...baseInputFiles(o.base), o.adapter], []);
  const base = await openBaseModel(o.base);
  try {
    const adapter = await readKohyaFile(o.adapter, base, o.registry, o.prefixes);
    const conversion = lycorisToPeft(adapter, { weightShape: (m) => base.info(`${m}.weight`)?.shape });
    if (!conversion.ok) {
      throw new AdapterFilesError(
        "unsupported",
        `${inputName(o.adapter)}: cannot convert to PEFT: ${conversion.reason}`,
      );
    }
    const { configJson, weights, config: c } = conversion;
    if (o.out !== undefined) await writePeftAdapterDir(o.out, [{ name: "default", configJson, weights }]);
    const patterns = Object.keys(c.rankPattern).length + Object.keys(c.alphaPattern).length;
    return {
      peftType: conversion.peftType,
      modules: adapter.modules.length,
      r: c.r,
      alpha: c.alpha,
      patterns,
      configJson,
      weights,
    };
  } finally {
    await base.close();
  }
}
