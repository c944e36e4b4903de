import { Command, InvalidArgumentError, Option } from "commander";
import { CliError } from "./cli-error";
import { createRegistry } from "./create-registry";
import { inspectAdapters } from "./inspect-adapters";
import { mergeAdapters } from "./merge-adapters";
import { formatBytes, renderInspect } from "./render-inspect";
import { renderValidate, validateAdapters } from "./validate-adapters";
import { cliVersion } from "./version";

/** Where the commands write their results (stdout by default; tests may capture it). */
export interface ProgramIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const DEFAULT_IO: ProgramIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

function parseScale(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError("expected a finite number");
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * The `lycoris` program: `inspect`, `validate` and `merge`. Commands set `process.exitCode`
 * (validate: 1 when the adapter is invalid); errors are thrown to the caller, which prints them.
 */
export function createProgram(io: ProgramIo = DEFAULT_IO): Command {
  const registry = createRegistry();
  const program = new Command("lycoris")
    .description("Inspect, validate and merge LoKr / LoHa adapters (Hugging Face PEFT format).")
    .version(cliVersion(), "-V, --version")
    .option("--debug", "print stack traces for errors")
    .showSuggestionAfterError()
    // usage errors, --help and --version throw (main maps them to exit codes) instead of exiting
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .addHelpText(
      "after",
      `
Examples:
  $ lycoris inspect ./my-adapter
  $ lycoris validate ./my-adapter --base model.safetensors
  $ lycoris merge --base model.safetensors --adapter ./my-adapter --out merged.safetensors

Run "lycoris help <command>" for a command's options.`,
    );

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
    .addOption(
      new Option("--adapter-name <name>", "only this adapter of a directory (repeatable)")
        .argParser(collect)
        .default([] as string[], "all"),
    )
    .addHelpText(
      "after",
      `
Reads only the file headers. For a bare .safetensors file without a config, the adapter type is
inferred from the parameter names (lokr_… → LOKR, hada_… → LOHA).

Examples:
  $ lycoris inspect ./my-adapter
  $ lycoris inspect ./my-adapter --json | jq '.totals'
  $ lycoris inspect lycoris-model.safetensors`,
    )
    .action(async (path: string, opts: { json?: boolean; adapterName: string[] }) => {
      const report = await inspectAdapters(path, registry, { adapterNames: opts.adapterName });
      io.out(`${opts.json ? JSON.stringify(report, null, 2) : renderInspect(report)}\n`);
    });

  program
    .command("validate")
    .description(
      "Check an adapter directory: config, parameter names, factor shapes, and (with --base) that it fits the base model.",
    )
    .argument("<adapter-dir>", "a PEFT adapter directory")
    .option("--base <model.safetensors>", "also check every adapted module against this base model")
    .option("--json", "print the report as JSON")
    .addOption(
      new Option("--adapter-name <name>", "only this adapter of the directory (repeatable)")
        .argParser(collect)
        .default([] as string[], "all"),
    )
    .addHelpText(
      "after",
      `
Exit status: 0 when valid, 1 when any check fails (or the inputs cannot be read), 2 for usage errors.

Examples:
  $ lycoris validate ./my-adapter
  $ lycoris validate ./my-adapter --base model.safetensors`,
    )
    .action(async (dir: string, opts: { base?: string; json?: boolean; adapterName: string[] }) => {
      const report = await validateAdapters(dir, registry, {
        ...(opts.base === undefined ? {} : { base: opts.base }),
        adapterNames: opts.adapterName,
      });
      io.out(`${opts.json ? JSON.stringify(report, null, 2) : renderValidate(report)}\n`);
      if (!report.ok) {
        const first = report.adapters.flatMap((a) => a.checks).find((c) => c.level === "error");
        throw new CliError(
          "validation_failed",
          `validation failed: ${report.errors} problem${report.errors === 1 ? "" : "s"}${first === undefined ? "" : ` (first: ${first.subject}: ${first.message})`}`,
        );
      }
    });

  program
    .command("merge")
    .description(
      "Merge an adapter into a base model: W' = W + scale·ΔW for every adapted weight, streamed to a new file.",
    )
    .requiredOption("--base <model.safetensors>", "the base model weights")
    .requiredOption("--adapter <dir>", "a PEFT adapter directory")
    .requiredOption("--out <file>", "where to write the merged model (atomically; never one of the inputs)")
    .option("--scale <s>", "multiplier of every ΔW", parseScale, 1)
    .addOption(
      new Option(
        "--adapter-name <name>",
        "merge this adapter of the directory (sub-directory <dir>/<name>; repeat to add several, in order)",
      )
        .argParser(collect)
        .default([] as string[], '"default"'),
    )
    .option("--no-progress", "do not show the progress bar")
    .option("-q, --quiet", "print nothing on success")
    .addHelpText(
      "after",
      `
The base model is read and the output written one tensor at a time, so memory stays at a few
layers. The output is written to a temporary file and renamed when complete: on any error,
nothing is left at --out. Base keys are "<module>.weight"; PEFT adapter keys are
"base_model.model.<module>.<param>".

Examples:
  $ lycoris merge --base model.safetensors --adapter ./my-adapter --out merged.safetensors
  $ lycoris merge --base model.safetensors --adapter ./runs --adapter-name style --scale 0.5 --out styled.safetensors`,
    )
    .action(
      async (opts: {
        base: string;
        adapter: string;
        out: string;
        scale: number;
        adapterName: string[];
        progress: boolean;
        quiet?: boolean;
      }) => {
        const started = Date.now();
        const summary = await mergeAdapters({
          base: opts.base,
          adapter: opts.adapter,
          out: opts.out,
          scale: opts.scale,
          adapterNames: opts.adapterName,
          progress: opts.progress && !opts.quiet,
          registry,
        });
        if (!opts.quiet) {
          const { size } = await import("node:fs/promises").then((fs) => fs.stat(summary.out));
          io.out(
            `merged adapter${summary.adapters.length === 1 ? "" : "s"} ${summary.adapters.map((a) => `"${a}"`).join(", ")} into ${summary.mergedModules} weights (${summary.replacedTensors} replaced by modules_to_save copies, ${summary.tensors} tensors in all, scale ${opts.scale}): ${summary.out} (${formatBytes(size)}, ${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
          );
        }
      },
    );

  return program;
}
