import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { InvalidArgumentError, Option } from "commander";
import { CliError } from "./cli-error";

/** What every command gets: the registry (built-in variants and `--plugin` ones) and the output streams. */
export interface CommandContext {
  readonly registry: AdapterRegistry;
  readonly io: ProgramIo;
}

/** Where the commands write their results (stdout by default; tests may capture it). */
export interface ProgramIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** `--scale`: a finite number. */
export function parseScale(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError("expected a finite number");
  return n;
}

const BYTE_UNITS: Readonly<Record<string, number>> = {
  "": 1,
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KIB: 2 ** 10,
  MIB: 2 ** 20,
  GIB: 2 ** 30,
  TIB: 2 ** 40,
};

/** Parses a size as Hugging Face writes it: `2GB` (10⁹ bytes), `500MB`, `2GiB` (2³⁰), or plain bytes. */
export function parseByteSize(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?I?B)?\s*$/i.exec(value);
  const unit = BYTE_UNITS[(m?.[2] ?? "").toUpperCase()];
  const n = m === null || unit === undefined ? Number.NaN : Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new InvalidArgumentError("expected a size such as 2GB, 500MB, 4GiB or a number of bytes");
  }
  return n;
}

/**
 * Parses `--prefix-map lora_unet=unet,lora_te=text_encoder` (a root may be empty: `lora_unet=` for a
 * base file that holds only the UNet, without a `unet.` prefix).
 *
 * @throws CliError `usage` for malformed entries.
 */
export function parsePrefixMap(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)) {
    const eq = part.indexOf("=");
    const prefix = eq < 0 ? "" : part.slice(0, eq).trim();
    if (eq < 0 || !/^[A-Za-z0-9]+(_[A-Za-z0-9]+)*$/.test(prefix)) {
      throw new CliError("usage", `--prefix-map: expected <prefix>=<sub-model root>, got '${part}'`);
    }
    out[prefix] = part.slice(eq + 1).trim();
  }
  return out;
}

const PREFIX_MAP_HELP =
  "kohya/LyCORIS files: file prefix → sub-model root in the base file, e.g. lora_unet=unet,lora_te=text_encoder (an empty root = the whole file); default lora_unet=unet, lora_te=lora_te1=text_encoder, lora_te2=text_encoder_2, lycoris=<found from the keys>";

/** `--prefix-map <map>`. */
export function prefixMapOption(): Option {
  return new Option("--prefix-map <map>", PREFIX_MAP_HELP).argParser((v) => parsePrefixMap(v));
}

/** A repeatable option's accumulator. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `--adapter-name <name>`, repeatable. */
export function adapterNamesOption(help: string, defaultText: string): Option {
  return new Option("--adapter-name <name>", help).argParser(collect).default([] as string[], defaultText);
}

/** `{ key: value }` when `value` is defined, else `{}` (for optional options under exactOptionalPropertyTypes). */
export function given<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
