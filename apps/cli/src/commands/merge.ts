import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  findIndexFile,
  isSingleFileAdapter,
  type MergeIntoBaseSummary,
  type MergeWarning,
  mergeAdapters,
  mergeIntoBase,
  mergeWarningText,
} from "@lycoris-ts/adapter-files";
import type { Command } from "commander";
import { CliError } from "../cli-error";
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

Several --adapter options merge several adapters in one pass, in order, each with its strength
(<path>:<strength>, default --scale). Single files in kohya, LyCORIS, diffusers, OneTrainer and
ai-toolkit layouts are placed on SD1.x / SDXL / Flux checkpoints as ComfyUI places them (fused
q/k/v rows, ComfyUI's strength and DoRA rules); adapter keys that are not placed or not applied
are printed as warnings on stderr (--strict: an error, nothing written).

Examples:
  $ lycoris merge --base model.safetensors --adapter ./my-adapter --out merged.safetensors
  $ lycoris merge --base model.safetensors --adapter ./runs --adapter-name style --scale 0.5 --out styled.safetensors
  $ lycoris merge --base sdxl.safetensors --adapter a.safetensors:0.8 --adapter b.safetensors:0.5 --out merged.safetensors

Sharded models: --base takes the model.safetensors.index.json (or the directory holding it); the
output is then a directory holding the same shards and a rewritten index (all shards are written
under temporary names and renamed only once every one is complete; the index comes last).
--single-file writes one .safetensors file instead; --max-shard-size 2GB re-shards (any base).
  $ lycoris merge --base ./llama/model.safetensors.index.json --adapter ./my-adapter --out ./llama-merged
  $ lycoris merge --base ./llama --adapter ./my-adapter --single-file --out merged.safetensors`;

interface MergeOptions {
  base: string;
  adapter: string[];
  out: string;
  scale: number;
  adapterName: string[];
  progress: boolean;
  quiet?: boolean;
  strict?: boolean;
  allowNonFinite?: boolean;
  prefixMap?: Record<string, string>;
  singleFile?: boolean;
  maxShardSize?: number;
}

interface AdapterArg {
  readonly path: string;
  readonly strength: number;
}

/**
 * `--adapter <path>[:<strength>]`: a path that exists as given is taken whole (it may hold ':');
 * otherwise a trailing `:<number>` is the strength.
 *
 * @throws CliError `usage` for a trailing `:` part that is not a finite number.
 */
function parseAdapterArg(value: string, scale: number): AdapterArg {
  const colon = value.lastIndexOf(":");
  if (existsSync(value) || colon <= 0) return { path: value, strength: scale };
  const tail = value.slice(colon + 1);
  const strength = Number(tail);
  if (tail.trim() === "" || !Number.isFinite(strength)) {
    throw new CliError(
      "usage",
      `--adapter ${value}: expected <path> or <path>:<strength> with a finite strength, and no such path exists`,
    );
  }
  return { path: value.slice(0, colon), strength };
}

function summaryLine(s: MergeIntoBaseSummary): string {
  const parts = s.adapters.map((a) => {
    const kinds = Object.entries(a.kinds).map(([k, n]) => `${n} ${k}`);
    const dora = a.dora > 0 ? `, ${a.dora} with DoRA` : "";
    return `${a.input} at ${a.strength} (${kinds.join(", ") || "no modules"}${dora})`;
  });
  const skipped =
    s.warnings.length > 0 ? `, ${s.warnings.length} adapter keys not applied (see warnings)` : "";
  return `merged ${s.adapters.length} adapters ${parts.join(", ")} into ${s.patchedTensors} tensors (${s.tensors} tensors in all${skipped}, ComfyUI rules)`;
}

function singleFileLine(path: string, s: MergeIntoBaseSummary, scale: number): string {
  const a = s.adapters[0]!;
  const algos = Object.entries(a.kinds).map(([k, n]) => `${n} ${k}`);
  const dora = a.dora > 0 ? `, ${a.dora} with DoRA` : "";
  const skipped =
    s.warnings.length > 0 ? `, ${s.warnings.length} adapter keys not applied (see warnings)` : "";
  return `merged kohya/LyCORIS adapter ${path} (${algos.join(", ")}${dora}) into ${a.modules} weights (${s.tensors} tensors in all, strength ${scale}${skipped}, ComfyUI rules)`;
}

/** Merges with a progress bar on stderr; returns the summary line (without size and time). */
async function merge(o: MergeOptions, ctx: CommandContext): Promise<string> {
  const adapters = o.adapter.map((a) => parseAdapterArg(a, o.scale));
  const bar = progressBar("merging", "tensors", o.progress && !o.quiet);
  const common = {
    base: o.base,
    out: o.out,
    registry: ctx.registry,
    onProgress: bar.onProgress,
    allowNonFinite: o.allowNonFinite === true,
    singleFile: o.singleFile === true,
    ...given("maxShardSize", o.maxShardSize),
  };
  const onWarning = (w: MergeWarning) => ctx.io.err(`warning: ${mergeWarningText(w)}\n`);
  try {
    const only = adapters.length === 1 ? adapters[0]! : null;
    if (only !== null && !(await isSingleFileAdapter(only.path))) {
      const s = await withInterrupt(o.out, (signal) =>
        mergeAdapters({
          ...common,
          scale: only.strength,
          adapter: only.path,
          adapterNames: o.adapterName,
          signal,
        }),
      );
      const names = s.adapters.map((a) => `"${a}"`).join(", ");
      return `merged adapter${s.adapters.length === 1 ? "" : "s"} ${names} into ${s.mergedModules} weights (${s.replacedTensors} replaced by modules_to_save copies, ${s.tensors} tensors in all, scale ${only.strength})`;
    }
    const s = await withInterrupt(o.out, (signal) =>
      mergeIntoBase({
        ...common,
        adapters: adapters.map((a) => ({
          input: a.path,
          strength: a.strength,
          ...(o.adapterName.length > 0 ? { adapterNames: o.adapterName } : {}),
          ...given("prefixes", o.prefixMap),
        })),
        strict: o.strict === true,
        onWarning,
        signal,
      }),
    );
    return only !== null ? singleFileLine(only.path, s, only.strength) : summaryLine(s);
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

/** `lycoris merge --base b --adapter a[:s] [--adapter a2[:s2] ...] --out o`: PEFT directories and single-file adapters. */
export function addMergeCommand(program: Command, ctx: CommandContext): void {
  program
    .command("merge")
    .description(
      "Merge adapters into a base model: W' = W + strength·ΔW for every adapted weight (several adapters in order), streamed to a new file.",
    )
    .requiredOption(
      "--base <model.safetensors>",
      "the base model weights: a .safetensors file, or a sharded model's *.safetensors.index.json (or its directory)",
    )
    .requiredOption(
      "--adapter <path[:strength]>",
      "a PEFT adapter directory or a single adapter .safetensors file (kohya, LyCORIS, diffusers, OneTrainer, ai-toolkit), optionally with its strength; repeat to merge several in order",
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
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
      "multiplier of every ΔW for adapters given without :<strength> (single files: the strength / LoRA weight)",
      parseScale,
      1,
    )
    .addOption(prefixMapOption())
    .addOption(
      adapterNamesOption(
        "merge this adapter of the PEFT directory (sub-directory <dir>/<name>; repeat to add several, in order)",
        '"default"',
      ),
    )
    .option(
      "--strict",
      "refuse to merge when an adapter key is not placed on the base or not applied (default: a warning on stderr)",
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
