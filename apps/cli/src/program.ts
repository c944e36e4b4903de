import { Command, Option } from "commander";
import { addConvertCommand } from "./commands/convert";
import { addExtractCommand } from "./commands/extract";
import { addInspectCommand } from "./commands/inspect";
import { addMergeCommand } from "./commands/merge";
import { addValidateCommand } from "./commands/validate";
import { createRegistry } from "./create-registry";
import { loadPlugins } from "./load-plugins";
import { type CommandContext, collect, type ProgramIo } from "./options";
import { cliVersion } from "./version";

const DEFAULT_IO: ProgramIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

const EXAMPLES = `
Examples:
  $ lycoris inspect ./my-adapter
  $ lycoris validate ./my-adapter --base model.safetensors
  $ lycoris merge --base model.safetensors --adapter ./my-adapter --out merged.safetensors
  $ lycoris merge --base sd15.safetensors --adapter my-lokr.safetensors --out merged.safetensors
  $ lycoris convert my-lokr.safetensors --base sd15.safetensors --out ./my-lokr-peft
  $ lycoris convert ./my-lokr-peft --out my-lokr.safetensors
  $ lycoris extract --base model.safetensors --tuned finetuned.safetensors --algo lokr --rank 8 --out ./my-lokr
  $ lycoris --plugin ./my-variant.js inspect ./my-variant-adapter

Run "lycoris help <command>" for a command's options.`;

/**
 * The `lycoris` program: `inspect`, `validate`, `merge`, `convert` and `extract` over the built-in variants
 * and those `--plugin` modules export. Errors are thrown to the caller, which prints them.
 */
export function createProgram(io: ProgramIo = DEFAULT_IO): Command {
  const ctx: CommandContext = { registry: createRegistry(), io };
  const program = new Command("lycoris")
    .description(
      "Inspect, validate, merge, convert and extract LyCORIS adapters (LoKr, LoHa, LoRA, and --plugin variants): Hugging Face PEFT format, and kohya/LyCORIS files.",
    )
    .version(cliVersion(), "-V, --version")
    .option("--debug", "print stack traces for errors")
    .addOption(
      new Option(
        "--plugin <module>",
        "load extra adapter variants: a module file or package exporting AdapterVariant objects (repeatable)",
      )
        .argParser(collect)
        .default([] as string[]),
    )
    .hook("preAction", async (cmd) => loadPlugins(cmd.opts<{ plugin: string[] }>().plugin, ctx.registry))
    .showSuggestionAfterError()
    // usage errors, --help and --version throw (main maps them to exit codes) instead of exiting
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .addHelpText("after", EXAMPLES);
  addInspectCommand(program, ctx);
  addValidateCommand(program, ctx);
  addMergeCommand(program, ctx);
  addConvertCommand(program, ctx);
  addExtractCommand(program, ctx);
  return program;
}
