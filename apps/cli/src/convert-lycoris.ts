import { stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { lycorisToPeft } from "@lycoris-ts/lycoris-format";
import { ADAPTER_CONFIG_NAME, type AdapterRegistry, writePeftAdapterDir } from "@lycoris-ts/runtime";
import { SafetensorsReader } from "@lycoris-ts/safetensors";
import { CliError } from "./cli-error";
import { readLycorisFile } from "./lycoris-file";

/** Options of {@link convertLycoris}. */
export interface ConvertLycorisOptions {
  readonly adapter: string;
  readonly base: string;
  /** The PEFT adapter directory to write (created; refused when it already holds an adapter). */
  readonly out: string;
  readonly prefixes?: Readonly<Record<string, string>>;
  readonly registry: AdapterRegistry;
}

/** What a conversion wrote. */
export interface ConvertLycorisSummary {
  readonly out: string;
  readonly peftType: string;
  readonly modules: number;
  readonly r: number;
  readonly alpha: number;
  readonly patterns: number;
}

/**
 * Writes a kohya / LyCORIS-format LoKr / LoHa file as a PEFT adapter directory whose PEFT delta
 * equals the loaders' delta (see `lycorisToPeft`).
 *
 * @throws CliError `unsupported` with the reason when PEFT cannot express the adapter (DoRA, mixed
 *   algorithms, factor splits), `refused` when `out` already holds an adapter or is an input.
 */
export async function convertLycoris(o: ConvertLycorisOptions): Promise<ConvertLycorisSummary> {
  const outAbs = resolve(o.out);
  if (outAbs === resolve(o.base) || outAbs === resolve(o.adapter)) {
    throw new CliError("refused", `--out ${o.out} is one of the inputs`);
  }
  if ((await stat(join(o.out, ADAPTER_CONFIG_NAME)).catch(() => null)) !== null) {
    throw new CliError(
      "refused",
      `${o.out} already holds a PEFT adapter (${ADAPTER_CONFIG_NAME}); choose another --out`,
    );
  }
  const base = await SafetensorsReader.open(o.base);
  try {
    const adapter = await readLycorisFile(o.adapter, base, o.registry, o.prefixes);
    const conversion = lycorisToPeft(adapter, { weightShape: (m) => base.info(`${m}.weight`)?.shape });
    if (!conversion.ok)
      throw new CliError("unsupported", `${o.adapter}: cannot convert to PEFT: ${conversion.reason}`);
    await writePeftAdapterDir(o.out, [
      { name: "default", configJson: conversion.configJson, weights: conversion.weights },
    ]);
    const c = conversion.config;
    return {
      out: o.out,
      peftType: conversion.peftType,
      modules: adapter.modules.length,
      r: c.r,
      alpha: c.alpha,
      patterns: Object.keys(c.rankPattern).length + Object.keys(c.alphaPattern).length,
    };
  } finally {
    await base.close();
  }
}
