import { stat } from "node:fs/promises";
import { isKohyaFile, mergeAdapters, mergeKohyaFile } from "@lycoris-ts/adapter-files";
import type { Command } from "commander";
import { withInterrupt } from "../interrupt";
import { adapterNamesOption, type CommandContext, given, parseScale, prefixMapOption } from "../options";
import { progressBar } from "../progress";
import { formatBytes } from "../render/inspect-report";

const HELP = `
The base model is read and the output written one tensor at a time, so memory stays at a few
layers. The output is written to a temporary file and renamed when complete: on any error,
nothing is left at --out. Every merged tensor is checked for NaN/Inf (PEFT's safe_merge): the
merge is refused, naming the tensor, unless --allow-non-finite. Base keys are "<module>.weight"; PEFT adapter keys are
"base_model.model.<module>.<param>".

Examples:
  $ lycoris merge --base model.safetensors --adapter ./my-adapter --out merged.safetensors
  $ lycoris merge --base model.safetensors --adapter ./runs --adapter-name style --scale 0.5 --out styled.safetensors`;

interface MergeOptions {
  base: string;
  adapter: string;
  out: string;
  scale: number;
  adapterName: string[];
  progress: boolean;
  quiet?: boolean;
  allowNonFinite?: boolean;
  prefixMap?: Record<string, string>;
}

/** Merges with a progress bar on stderr; returns the summary line (without size and time). */
async function merge(o: MergeOptions, ctx: CommandContext): Promise<string> {
  const bar = progressBar("merging", "tensors", o.progress && !o.quiet);
  const common = {
    base: o.base,
    out: o.out,
    scale: o.scale,
    registry: ctx.registry,
    onProgress: bar.onProgress,
    allowNonFinite: o.allowNonFinite === true,
  };
  try {
    if (await isKohyaFile(o.adapter, ctx.registry)) {
      const s = await withInterrupt(o.out, (signal) =>
        mergeKohyaFile({ ...common, adapter: o.adapter, signal, ...given("prefixes", o.prefixMap) }),
      );
      const algos = Object.entries(s.algos).map(([a, n]) => `${n} ${a}`);
      const dora = s.dora > 0 ? `, ${s.dora} with DoRA` : "";
      return `merged kohya/LyCORIS adapter ${o.adapter} (${algos.join(", ")}${dora}) into ${s.mergedModules} weights (${s.tensors} tensors in all, strength ${o.scale}, ComfyUI rules)`;
    }
    const s = await withInterrupt(o.out, (signal) =>
      mergeAdapters({ ...common, adapter: o.adapter, adapterNames: o.adapterName, signal }),
    );
    const names = s.adapters.map((a) => `"${a}"`).join(", ");
    return `merged adapter${s.adapters.length === 1 ? "" : "s"} ${names} into ${s.mergedModules} weights (${s.replacedTensors} replaced by modules_to_save copies, ${s.tensors} tensors in all, scale ${o.scale})`;
  } finally {
    bar.stop();
  }
}

/** `lycoris merge --base b --adapter a --out o`: PEFT directories and kohya/LyCORIS files. */
export function addMergeCommand(program: Command, ctx: CommandContext): void {
  program
    .command("merge")
    .description(
      "Merge an adapter into a base model: W' = W + scale·ΔW for every adapted weight, streamed to a new file.",
    )
    .requiredOption("--base <model.safetensors>", "the base model weights")
    .requiredOption(
      "--adapter <path>",
      "a PEFT adapter directory, or a kohya/LyCORIS .safetensors file (detected by its key names)",
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
      adapterNamesOption(
        "merge this adapter of the directory (sub-directory <dir>/<name>; repeat to add several, in order)",
        '"default"',
      ),
    )
    .option(
      "--allow-non-finite",
      "write merged weights holding NaN/Inf (default: refuse, naming the tensor, as PEFT's safe_merge)",
    )
    .option("--no-progress", "do not show the progress bar")
    .option("-q, --quiet", "print nothing on success")
    .addHelpText("after", HELP)
    .action(async (opts: MergeOptions) => {
      const started = Date.now();
      const summary = await merge(opts, ctx);
      if (opts.quiet) return;
      const { size } = await stat(opts.out);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      ctx.io.out(`${summary}: ${opts.out} (${formatBytes(size)}, ${seconds} s)\n`);
    });
}
