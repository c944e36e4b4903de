import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { findIndexFile, isKohyaFile, mergeAdapters, mergeKohyaFile } from "@lycoris-ts/adapter-files";
import type { Command } from "commander";
import { withInterrupt } from "../interrupt";
import {
  adapterNamesOption,
  type CommandContext,
  given,
  parseByteSize,
  parseScale,
  prefixMapOption,
} from "../options";
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
  $ lycoris merge --base model.safetensors --adapter ./runs --adapter-name style --scale 0.5 --out styled.safetensors

Sharded models: --base takes the model.safetensors.index.json (or the directory holding it); the
output is then a directory holding the same shards and a rewritten index (all shards are written
under temporary names and renamed only once every one is complete; the index comes last).
--single-file writes one .safetensors file instead; --max-shard-size 2GB re-shards (any base).
  $ lycoris merge --base ./llama/model.safetensors.index.json --adapter ./my-adapter --out ./llama-merged
  $ lycoris merge --base ./llama --adapter ./my-adapter --single-file --out merged.safetensors`;

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
  singleFile?: boolean;
  maxShardSize?: number;
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
    singleFile: o.singleFile === true,
    ...given("maxShardSize", o.maxShardSize),
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

/** Bytes written: the file, or a sharded output's shards and index. */
async function outputSize(out: string): Promise<number> {
  const s = await stat(out);
  if (!s.isDirectory() && !out.endsWith(".index.json")) return s.size;
  const index = s.isDirectory() ? await findIndexFile(out) : out;
  if (index === null) return s.size;
  const { weight_map: map } = JSON.parse(await readFile(index, "utf8")) as {
    weight_map: Record<string, string>;
  };
  let total = (await stat(index)).size;
  for (const shard of new Set(Object.values(map))) total += (await stat(join(index, "..", shard))).size;
  return total;
}

/** `lycoris merge --base b --adapter a --out o`: PEFT directories and kohya/LyCORIS files. */
export function addMergeCommand(program: Command, ctx: CommandContext): void {
  program
    .command("merge")
    .description(
      "Merge an adapter into a base model: W' = W + scale·ΔW for every adapted weight, streamed to a new file.",
    )
    .requiredOption(
      "--base <model.safetensors>",
      "the base model weights: a .safetensors file, or a sharded model's *.safetensors.index.json (or its directory)",
    )
    .requiredOption(
      "--adapter <path>",
      "a PEFT adapter directory, or a kohya/LyCORIS .safetensors file (detected by its key names)",
    )
    .requiredOption(
      "--out <path>",
      "where to write the merged model (atomically; never one of the inputs): a file, or a directory for a sharded output",
    )
    .option("--single-file", "write one .safetensors file even when the base model is sharded")
    .option(
      "--max-shard-size <size>",
      "re-shard the output: shards of at most this size (2GB, 500MB, 4GiB), plus a model.safetensors.index.json",
      parseByteSize,
    )
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
      const size = await outputSize(opts.out);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      ctx.io.out(`${summary}: ${opts.out} (${formatBytes(size)}, ${seconds} s)\n`);
    });
}
