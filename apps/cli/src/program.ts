import { Command, InvalidArgumentError, Option } from "commander";
import { CliError } from "./cli-error";
import { conversionTarget } from "./conversion-target";
import { convertLycoris } from "./convert-lycoris";
import { convertPeftToLycoris } from "./convert-peft";
import { createRegistry } from "./create-registry";
import { inspectAdapters } from "./inspect-adapters";
import { loadPlugins } from "./load-plugins";
import { isLycorisFile, parsePrefixMap } from "./lycoris-file";
import { mergeAdapters } from "./merge-adapters";
import { mergeLycoris } from "./merge-lycoris";
import { formatBytes, renderInspect } from "./render-inspect";
import { renderValidate, validateAdapters } from "./validate-adapters";
import { validateLycoris } from "./validate-lycoris";
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

const PREFIX_MAP_HELP =
  "kohya/LyCORIS files: file prefix → sub-model root in the base file, e.g. lora_unet=unet,lora_te=text_encoder (an empty root = the whole file); default lora_unet=unet, lora_te=lora_te1=text_encoder, lora_te2=text_encoder_2, lycoris=<found from the keys>";

function prefixMapOption(): Option {
  return new Option("--prefix-map <map>", PREFIX_MAP_HELP).argParser((v) => parsePrefixMap(v));
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
    .description(
      "Inspect, validate, merge and convert LoKr / LoHa adapters (Hugging Face PEFT format, and kohya/LyCORIS files).",
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
    .hook("preAction", async (cmd) => loadPlugins(cmd.opts<{ plugin: string[] }>().plugin, registry))
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
  $ lycoris merge --base sd15.safetensors --adapter my-lokr.safetensors --out merged.safetensors
  $ lycoris convert my-lokr.safetensors --base sd15.safetensors --out ./my-lokr-peft
  $ lycoris convert ./my-lokr-peft --out my-lokr.safetensors
  $ lycoris --plugin ./my-variant.js inspect ./my-variant-adapter

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
inferred from the parameter names (each registered type's parameter prefix or kohya tensor names).

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
    .argument("<adapter>", "a PEFT adapter directory, or a kohya/LyCORIS .safetensors file (needs --base)")
    .option("--base <model.safetensors>", "also check every adapted module against this base model")
    .addOption(prefixMapOption())
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
    .action(
      async (
        dir: string,
        opts: { base?: string; json?: boolean; adapterName: string[]; prefixMap?: Record<string, string> },
      ) => {
        const report = (await isLycorisFile(dir, registry))
          ? await validateLycoris(dir, {
              registry,
              ...(opts.base === undefined ? {} : { base: opts.base }),
              ...(opts.prefixMap === undefined ? {} : { prefixes: opts.prefixMap }),
            })
          : await validateAdapters(dir, registry, {
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
      },
    );

  program
    .command("merge")
    .description(
      "Merge an adapter into a base model: W' = W + scale·ΔW for every adapted weight, streamed to a new file.",
    )
    .requiredOption("--base <model.safetensors>", "the base model weights")
    .requiredOption(
      "--adapter <path>",
      "a PEFT adapter directory, or a kohya/LyCORIS LoKr/LoHa .safetensors file (detected by its key names)",
    )
    .requiredOption("--out <file>", "where to write the merged model (atomically; never one of the inputs)")
    .option(
      "--scale <s>",
      "multiplier of every ΔW (kohya/LyCORIS files: the strength / LoRA weight)",
      parseScale,
      1,
    )
    .addOption(prefixMapOption())
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
        prefixMap?: Record<string, string>;
      }) => {
        const started = Date.now();
        if (await isLycorisFile(opts.adapter, registry)) {
          const s = await mergeLycoris({
            base: opts.base,
            adapter: opts.adapter,
            out: opts.out,
            scale: opts.scale,
            progress: opts.progress && !opts.quiet,
            registry,
            ...(opts.prefixMap === undefined ? {} : { prefixes: opts.prefixMap }),
          });
          if (!opts.quiet) {
            const { size } = await import("node:fs/promises").then((fs) => fs.stat(s.out));
            const algos = Object.entries(s.algos).map(([a, n]) => `${n} ${a}`);
            io.out(
              `merged kohya/LyCORIS adapter ${opts.adapter} (${algos.join(", ")}${s.dora > 0 ? `, ${s.dora} with DoRA` : ""}) into ${s.mergedModules} weights (${s.tensors} tensors in all, strength ${opts.scale}, ComfyUI rules): ${s.out} (${formatBytes(size)}, ${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
            );
          }
          return;
        }
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

  program
    .command("convert")
    .description(
      "Convert a LoKr/LoHa adapter between formats with the same ΔW: a kohya/LyCORIS file → a PEFT adapter directory, or a PEFT adapter directory → a kohya/LyCORIS file.",
    )
    .argument("<input>", "a kohya/LyCORIS-format .safetensors file, or a PEFT adapter directory")
    .addOption(
      new Option(
        "--to <format>",
        "target format (default: peft for a kohya/LyCORIS file, lycoris for a PEFT directory)",
      ).choices(["peft", "lycoris"]),
    )
    .requiredOption(
      "--out <path>",
      "--to peft: the PEFT adapter directory to write; --to lycoris: the .safetensors file to write (atomically)",
    )
    .option(
      "--base <model.safetensors>",
      "the base model (required with --to peft; with --to lycoris optional, its shapes tell Conv1d Tucker cores apart)",
    )
    .addOption(prefixMapOption())
    .option(
      "--prefix <prefix>",
      "--to lycoris: the kohya key prefix (lycoris, lora_unet, lora_te, lora_te1, ...); default lycoris",
    )
    .option(
      "--module-root <path>",
      "--to lycoris: module path removed before building the keys (e.g. unet for lora_unet); default none",
    )
    .option("--adapter-name <name>", 'the adapter of the PEFT directory to convert (default "default")')
    .option("-q, --quiet", "print nothing on success")
    .addHelpText(
      "after",
      `
To PEFT: PEFT's alpha / r is set to the loaders' scale (alpha = scale · r, alpha_pattern / rank_pattern
where modules differ; LoKr modules with both factors full get r = the network dim and alpha = r). Not
convertible (exit 1, with the reason): DoRA, files mixing LoKr and LoHa, factor splits PEFT's
decompose_factor cannot reproduce (unbalanced factorization, per-module factors).

To kohya/LyCORIS: keys are <prefix>_<module path below --module-root, "." → "_">.<tensor>. The stored
alpha is PEFT's scaling × the rank the loaders read from the factors; LoKr modules with both factors
full (where the loaders ignore alpha) get the scaling multiplied into one factor and alpha = r.
modules_to_save copies cannot be expressed (exit 1, naming them).

Examples:
  $ lycoris convert my-lokr.safetensors --base sd15.safetensors --out ./my-lokr-peft
  $ lycoris convert ./my-lokr-peft --out my-lokr.safetensors
  $ lycoris --plugin ./my-variant.js inspect ./my-variant-adapter
  $ lycoris convert ./unet-lokr-peft --to lycoris --prefix lora_unet --module-root unet --out my-lokr.safetensors`,
    )
    .action(
      async (
        input: string,
        opts: {
          to?: "peft" | "lycoris";
          base?: string;
          out: string;
          prefix?: string;
          moduleRoot?: string;
          adapterName?: string;
          quiet?: boolean;
          prefixMap?: Record<string, string>;
        },
      ) => {
        const to = opts.to ?? (await conversionTarget(input, registry));
        if (to === "lycoris") {
          if (opts.prefixMap !== undefined)
            throw new CliError("usage", "--prefix-map applies to --to peft (use --prefix / --module-root)");
          const s = await convertPeftToLycoris({
            adapter: input,
            out: opts.out,
            registry,
            ...(opts.adapterName === undefined ? {} : { adapterName: opts.adapterName }),
            ...(opts.prefix === undefined ? {} : { prefix: opts.prefix }),
            ...(opts.moduleRoot === undefined ? {} : { moduleRoot: opts.moduleRoot }),
            ...(opts.base === undefined ? {} : { base: opts.base }),
          });
          if (!opts.quiet) {
            io.out(
              `converted ${input} to a kohya/LyCORIS ${s.algo} file: ${s.out} (${s.modules} modules${s.baked > 0 ? `, scale multiplied into ${s.scaleParameter} in ${s.baked}` : ""}${s.dropped > 0 ? `, ${s.dropped} unchanged base-weight copies left out` : ""})\n`,
            );
          }
          return;
        }
        for (const [flag, v] of [
          ["--prefix", opts.prefix],
          ["--module-root", opts.moduleRoot],
          ["--adapter-name", opts.adapterName],
        ] as const) {
          if (v !== undefined) throw new CliError("usage", `${flag} applies to --to lycoris only`);
        }
        if (opts.base === undefined)
          throw new CliError("usage", "convert --to peft needs --base <model.safetensors>");
        const s = await convertLycoris({
          adapter: input,
          base: opts.base,
          out: opts.out,
          registry,
          ...(opts.prefixMap === undefined ? {} : { prefixes: opts.prefixMap }),
        });
        if (!opts.quiet) {
          io.out(
            `converted ${input} to a ${s.peftType} PEFT adapter: ${s.out} (${s.modules} modules, r=${s.r}, alpha=${s.alpha}, ${s.patterns} rank/alpha patterns)\n`,
          );
        }
      },
    );

  return program;
}
