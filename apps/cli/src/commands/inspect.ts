import { inspectAdapters, inspectPlacement } from "@lycoris-ts/adapter-files";
import type { Command } from "commander";
import { CliError } from "../cli-error";
import { adapterNamesOption, type CommandContext } from "../options";
import { renderInspect } from "../render/inspect-report";
import { renderPlacement } from "../render/placement-report";
import { jsonPieces, terminated, writeChunks } from "../render/write-chunks";

const HELP = `
Reads only the file headers. For a bare .safetensors file without a config, the adapter type is
inferred from the parameter names (each registered type's parameter prefix or kohya tensor names).

With --base, shows where each key of an adapter .safetensors file (kohya, LyCORIS, ComfyUI /
ai-toolkit, diffusers, OneTrainer or PEFT names) lands on an SD1.x, SDXL or Flux checkpoint, as
ComfyUI's loader maps it: module key → checkpoint tensor, rows of a fused tensor, function, applied
or not. On any other model (tensor names <module>.weight), keys are read as kohya prefixes or
module paths, as merge and validate read them: module key → <module>.weight (and .bias for diff_b /
b_norm). Then every key it could not place, with the reason and the closest base names, and the
tensors the loaders do not read.

Examples:
  $ lycoris inspect ./my-adapter
  $ lycoris inspect ./my-adapter --json | jq '.totals'
  $ lycoris inspect lycoris-model.safetensors
  $ lycoris inspect flux-lora.safetensors --base flux1-dev.safetensors
  $ lycoris inspect sdxl-lokr.safetensors --base sd_xl_base_1.0.safetensors --json | jq '.notLoaded'`;

/** `lycoris inspect <path> [--json] [--adapter-name n] [--base checkpoint]`. */
export function addInspectCommand(program: Command, ctx: CommandContext): void {
  program
    .command("inspect")
    .description(
      "Show an adapter's format, type, and per-module structure (factor shapes, r, alpha, scaling) with totals.",
    )
    .argument(
      "<path>",
      "a PEFT adapter directory, or an adapter .safetensors file (PEFT or kohya/LyCORIS key names)",
    )
    .option("--json", "print the report as JSON")
    .option(
      "--base <checkpoint>",
      "show how the adapter's keys map onto this base model (.safetensors: SD1.x / SDXL / Flux, or any model's <module>.weight names) instead",
    )
    .addOption(adapterNamesOption("only this adapter of a directory (repeatable)", "all"))
    .addHelpText("after", HELP)
    .action(async (path: string, opts: { json?: boolean; adapterName: string[]; base?: string }) => {
      if (opts.base !== undefined) {
        if (opts.adapterName.length > 0)
          throw new CliError("usage", "--adapter-name does not apply with --base");
        const placement = await inspectPlacement(path, opts.base, { registry: ctx.registry });
        writeChunks(
          ctx.io.out,
          terminated(opts.json ? jsonPieces(placement) : renderPlacement(placement), opts.json === true),
        );
        return;
      }
      const report = await inspectAdapters(path, ctx.registry, { adapterNames: opts.adapterName });
      writeChunks(
        ctx.io.out,
        terminated(opts.json ? jsonPieces(report) : renderInspect(report), opts.json === true),
      );
    });
}
