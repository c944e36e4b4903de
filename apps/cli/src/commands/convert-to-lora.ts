import { convertAdapterToLora } from "@lycoris-ts/adapter-files";
import type { LoraRank } from "@lycoris-ts/runtime";
import { CliError } from "../cli-error";
import { type CommandContext, given } from "../options";
import { renderLoraConversion } from "../render/lora-conversion-report";

/**
 * `--rank`: an integer is a fixed rank, a number written with a point or an exponent a threshold (as Python
 * tells `1` from `1.0`): `8`, `0.9`, `1.0`.
 *
 * @throws CliError `usage` for anything else.
 */
export function parseLoraRank(text: string): LoraRank {
  const t = text.trim();
  if (/^[+-]?\d+$/.test(t)) return { rank: Number(t) };
  const x = Number(t);
  if (t === "" || !Number.isFinite(x) || !/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t))
    throw new CliError("usage", `--rank: expected an integer rank or a threshold such as 0.9, got '${text}'`);
  return { threshold: x };
}

/** What `convert --to lora` reads of the command's options. */
export interface ToLoraOptions {
  readonly rank?: string;
  readonly peftCompatible?: boolean;
  readonly base?: string;
  readonly out: string;
  readonly adapterName?: string;
}

/** `lycoris convert <adapter> --to lora --rank <r|t>`: the conversion, written to `--out`, and its report. */
export async function toLora(input: string, o: ToLoraOptions, ctx: CommandContext): Promise<string> {
  if (o.rank === undefined) throw new CliError("usage", "convert --to lora needs --rank <rank|threshold>");
  const conversion = await convertAdapterToLora(input, {
    rank: parseLoraRank(o.rank),
    registry: ctx.registry,
    out: o.out,
    peftCompatible: o.peftCompatible === true,
    ...given("adapterName", o.adapterName),
    ...given("base", o.base),
  });
  return renderLoraConversion(input, o.out, conversion);
}
