import type { Tensor } from "@lycoris-ts/kernels";
import { lycorisToPeft } from "@lycoris-ts/lycoris-format";
import {
  ADAPTER_CONFIG_NAME,
  ADAPTER_WEIGHTS_NAME,
  type AdapterRegistry,
  writePeftAdapterDir,
} from "@lycoris-ts/runtime";
import { AdapterFilesError } from "./adapter-files-error";
import { checkOutputPath } from "./check-output-path";
import { type FileInput, inputName } from "./file-input";
import { readKohyaFile } from "./kohya-file";
import { nodeFs, nodePath } from "./node-builtins";
import { openBaseModel } from "./open-base-model";

/** Options of {@link convertKohyaToPeft}. */
export interface ConvertKohyaToPeftOptions {
  /** The kohya / LyCORIS-format file. */
  readonly adapter: FileInput;
  /** The base model: its module names resolve the keys, its weight shapes fix the layers. */
  readonly base: FileInput;
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

/** Refuses an output directory that is or holds an input, lies in one, or already holds an adapter. */
export async function checkPeftOutput(out: string, inputs: readonly FileInput[]): Promise<void> {
  await checkOutputPath(out, inputs, [], {
    directoryOf: [ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME],
  });
  const existing = await nodeFs()
    .stat(nodePath().join(out, ADAPTER_CONFIG_NAME))
    .catch(() => null);
  if (existing !== null) {
    throw new AdapterFilesError(
      "refused",
      `${out} already holds a PEFT adapter (${ADAPTER_CONFIG_NAME}); choose another output`,
      {
        path: out,
      },
    );
  }
}

/**
 * Converts a kohya / LyCORIS-format file to a PEFT adapter whose PEFT delta equals the loaders'
 * delta (see lycoris-format's `lycorisToPeft`), and writes it to `out` when given.
 *
 * @throws AdapterFilesError `unsupported` with the reason when PEFT cannot express the adapter (DoRA,
 *   mixed algorithms, factor splits), `refused` when `out` already holds an adapter or is an input.
 */
export async function convertKohyaToPeft(o: ConvertKohyaToPeftOptions): Promise<KohyaToPeftResult> {
  if (o.out !== undefined) await checkPeftOutput(o.out, [o.base, o.adapter]);
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
