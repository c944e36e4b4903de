import { inspectAdapters } from "@lycoris-ts/adapter-files";
import type { Command } from "commander";
import { adapterNamesOption, type CommandContext } from "../options";
import { renderInspect } from "../render/inspect-report";
import { jsonPieces, terminated, writeChunks } from "../render/write-chunks";

const HELP = `
Reads only the file headers. For a bare .safetensors file without a config, the adapter type is
inferred from the parameter names (each registered type's parameter prefix or kohya tensor names).

Examples:
  $ lycoris inspect ./my-adapter
  $ lycoris inspect ./my-adapter --json | jq '.totals'
  $ lycoris inspect lycoris-model.safetensors`;

/** `lycoris inspect <path> [--json] [--adapter-name n]`. */
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
    .addOption(adapterNamesOption("only this adapter of a directory (repeatable)", "all"))
    .addHelpText("after", HELP)
    .action(async (path: string, opts: { json?: boolean; adapterName: string[] }) => {
      const report = await inspectAdapters(path, ctx.registry, { adapterNames: opts.adapterName });
      writeChunks(
        ctx.io.out,
        terminated(opts.json ? jsonPieces(report) : renderInspect(report), opts.json === true),
      );
    });
}
