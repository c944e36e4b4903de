import {
  isKohyaFile,
  isSingleFileAdapter,
  type ValidateReport,
  validateAdapters,
  validateKohyaFile,
} from "@lycoris-ts/adapter-files";
import type { Command } from "commander";
import { CliError } from "../cli-error";
import { adapterNamesOption, type CommandContext, given, prefixMapOption } from "../options";
import { renderValidate } from "../render/validate-report";

const HELP = `
Exit status: 0 when valid, 1 when any check fails (or the inputs cannot be read), 2 for usage errors.

Examples:
  $ lycoris validate ./my-adapter
  $ lycoris validate ./my-adapter --base model.safetensors`;

interface ValidateOptions {
  base?: string;
  json?: boolean;
  adapterName: string[];
  prefixMap?: Record<string, string>;
}

async function validate(path: string, opts: ValidateOptions, ctx: CommandContext): Promise<ValidateReport> {
  // one adapter file with --base: placed on the base as the loaders read it (every module kind and layout)
  const singleFile = opts.base !== undefined && (await isSingleFileAdapter(path));
  if (!singleFile && !(await isKohyaFile(path, ctx.registry))) {
    return validateAdapters(path, ctx.registry, {
      ...given("base", opts.base),
      adapterNames: opts.adapterName,
    });
  }
  if (opts.base === undefined) {
    throw new CliError(
      "usage",
      `${path} is a kohya/LyCORIS file: its keys name modules of a model, so validate it with --base <model.safetensors>`,
    );
  }
  return validateKohyaFile(path, {
    base: opts.base,
    registry: ctx.registry,
    ...given("prefixes", opts.prefixMap),
  });
}

/** `lycoris validate <adapter> [--base b] [--json]`: exit 1 when a check fails. */
export function addValidateCommand(program: Command, ctx: CommandContext): void {
  program
    .command("validate")
    .description(
      "Check an adapter directory: config, parameter names, factor shapes, and (with --base) that it fits the base model.",
    )
    .argument("<adapter>", "a PEFT adapter directory, or a kohya/LyCORIS .safetensors file (needs --base)")
    .option("--base <model.safetensors>", "also check every adapted module against this base model")
    .addOption(prefixMapOption())
    .option("--json", "print the report as JSON")
    .addOption(adapterNamesOption("only this adapter of the directory (repeatable)", "all"))
    .addHelpText("after", HELP)
    .action(async (path: string, opts: ValidateOptions) => {
      const report = await validate(path, opts, ctx);
      ctx.io.out(`${opts.json ? JSON.stringify(report, null, 2) : renderValidate(report)}\n`);
      if (report.ok) return;
      const first = report.adapters.flatMap((a) => a.checks).find((c) => c.level === "error");
      const s = report.errors === 1 ? "" : "s";
      throw new CliError(
        "validation_failed",
        `validation failed: ${report.errors} problem${s}${first === undefined ? "" : ` (first: ${first.subject}: ${first.message})`}`,
      );
    });
}
