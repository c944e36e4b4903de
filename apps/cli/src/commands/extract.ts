import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { type ExtractSummary, extractAdapter } from "@lycoris-ts/adapter-files";
import type { RankSelection } from "@lycoris-ts/runtime";
import { type Command, InvalidArgumentError, Option } from "commander";
import { withInterrupt } from "../interrupt";
import { type CommandContext, given } from "../options";
import { progressBar } from "../progress";
import { formatRelativeError, renderExtract } from "../render/extract-report";
import { formatBytes } from "../render/inspect-report";
import { writeChunks } from "../render/write-chunks";

const HELP = `
ΔW = tuned − base for every weight that differs (2-D: Linear; 3-D / 4-D: Conv1d / Conv2d), then per layer:
  lokr  the nearest Kronecker product w1 ⊗ w2 (Van Loan–Pitsianis) with PEFT's factor shapes for --factor;
        w2 full, or a rank-R product with --rank R (and w1 too with --decompose-both)
  lora  a truncated SVD of ΔW (randomized; full for small layers), rank chosen per layer as LyCORIS's
        extract_locon does: --rank R (fixed), --threshold T (singular values > T), --ratio Q
        (singular values > Q·largest) or --quantile E (running sum of singular values < E·their sum)
Each layer's relative error ‖ΔW − approximation‖ / ‖ΔW‖ is reported: merging the adapter into the base gives
the tuned weights up to it. Unchanged tensors are skipped; other changed tensors (biases, norms) are listed,
not extracted. The checkpoints are read one tensor at a time (memory: a few layers); the adapter is written
atomically once every tensor was read.

Output: --out dir/ is a PEFT adapter directory (adapter_config.json + adapter_model.safetensors);
--out file.safetensors a kohya / LyCORIS file (--format overrides the choice).

Examples:
  $ lycoris extract --base base.safetensors --tuned tuned.safetensors --algo lokr --rank 8 --out ./my-lokr
  $ lycoris extract --base base.safetensors --tuned tuned.safetensors --algo lora --ratio 0.05 --out my-lora.safetensors
  $ lycoris extract --base base.safetensors --tuned tuned.safetensors --algo lora --rank 16 --targets "self_attn" --out ./attn-lora`;

interface ExtractOptions {
  base: string;
  tuned: string;
  algo: string;
  out: string;
  format?: "peft" | "kohya";
  factor?: number;
  decomposeBoth?: boolean;
  rank?: number;
  threshold?: number;
  ratio?: number;
  quantile?: number;
  targets?: RegExp;
  prefix?: string;
  progress: boolean;
  quiet?: boolean;
}

function parseInteger(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n)) throw new InvalidArgumentError("expected an integer");
  return n;
}

function parseRank(value: string): number {
  const n = parseInteger(value);
  if (n < 1) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

function parseNonNegative(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError("expected a number >= 0");
  return n;
}

function parseFraction(value: string): number {
  const n = parseNonNegative(value);
  if (n > 1) throw new InvalidArgumentError("expected a number in [0, 1]");
  return n;
}

function parseRegex(value: string): RegExp {
  try {
    return new RegExp(value);
  } catch (error) {
    throw new InvalidArgumentError(`not a regular expression (${(error as Error).message})`);
  }
}

/** The rank selection of the (mutually exclusive) --rank / --threshold / --ratio / --quantile. */
function rankSelection(o: ExtractOptions): RankSelection | undefined {
  if (o.rank !== undefined) return { mode: "fixed", rank: o.rank };
  if (o.threshold !== undefined) return { mode: "threshold", threshold: o.threshold };
  if (o.ratio !== undefined) return { mode: "ratio", ratio: o.ratio };
  if (o.quantile !== undefined) return { mode: "quantile", quantile: o.quantile };
  return undefined;
}

const SELECTIONS = ["rank", "threshold", "ratio", "quantile"];
const selectionOption = (flags: string, help: string, parse: (v: string) => number): Option =>
  new Option(flags, help).argParser(parse).conflicts(SELECTIONS.filter((s) => !flags.startsWith(`--${s} `)));

/** Bytes written: the file, or the adapter directory's files. */
async function outputSize(out: string): Promise<number> {
  const s = await stat(out);
  if (!s.isDirectory()) return s.size;
  let total = 0;
  for (const name of await readdir(out)) total += (await stat(join(out, name))).size;
  return total;
}

const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? "" : "s"}`;

function summaryLine(s: ExtractSummary): string {
  const other =
    s.otherChanged.length > 0 ? `, ${count(s.otherChanged.length, "changed tensor")} not extracted` : "";
  const what = s.format === "peft" ? "PEFT adapter" : "kohya/LyCORIS file";
  return `extracted ${count(s.layers.length, `${s.peftType} module`)} (max relative error ${formatRelativeError(s.maxRelativeError)}${other}, ${count(s.unchanged, "tensor")} unchanged) as a ${what}`;
}

/** `lycoris extract --base b --tuned t --algo lokr|lora --out o`. */
export function addExtractCommand(program: Command, ctx: CommandContext): void {
  program
    .command("extract")
    .description(
      "Extract an adapter (LoKr, LoRA) from a fine-tuned checkpoint: ΔW = tuned − base per weight, factorised.",
    )
    .requiredOption("--base <base.safetensors>", "the base model weights")
    .requiredOption("--tuned <tuned.safetensors>", "the fine-tuned weights (same tensor names and shapes)")
    .requiredOption(
      "--algo <algo>",
      "the adapter type to extract: lokr or lora (or a --plugin variant with the hook)",
    )
    .requiredOption(
      "--out <dir | file.safetensors>",
      "a PEFT adapter directory, or a kohya/LyCORIS .safetensors file",
    )
    .addOption(
      new Option(
        "--format <format>",
        "output format (default: kohya for a .safetensors --out, else peft)",
      ).choices(["peft", "kohya"]),
    )
    .option(
      "--factor <f>",
      "LoKr's decompose_factor: the split of each dimension (-1: most balanced)",
      parseInteger,
    )
    .option("--decompose-both", "LoKr: w1 a rank-R product too (needs --rank)")
    .addOption(selectionOption("--rank <r>", "fixed rank (LoRA: of ΔW; LoKr: of w2)", parseRank))
    .addOption(selectionOption("--threshold <t>", "LoRA: keep singular values > t", parseNonNegative))
    .addOption(
      selectionOption("--ratio <q>", "LoRA: keep singular values > q·largest (q in [0, 1])", parseFraction),
    )
    .addOption(
      selectionOption(
        "--quantile <e>",
        "LoRA: keep singular values while their running sum < e·their sum (e in [0, 1])",
        parseFraction,
      ),
    )
    .option(
      "--targets <regex>",
      "only weights whose module name matches (searched, not anchored)",
      parseRegex,
    )
    .option("--prefix <prefix>", "kohya key prefix (default lycoris)")
    .option("--no-progress", "do not show the progress bar")
    .option("-q, --quiet", "print nothing on success")
    .addHelpText("after", HELP)
    .action(async (o: ExtractOptions) => {
      const started = Date.now();
      const format = o.format ?? (o.out.endsWith(".safetensors") ? "kohya" : "peft");
      const bar = progressBar("extracting", "tensors", o.progress && !o.quiet);
      let summary: ExtractSummary;
      try {
        const selection = rankSelection(o);
        summary = await withInterrupt(o.out, (signal) =>
          extractAdapter({
            base: o.base,
            tuned: o.tuned,
            algo: o.algo,
            out: o.out,
            format,
            registry: ctx.registry,
            onProgress: bar.onProgress,
            signal,
            ...given("rank", selection),
            ...given("factor", o.factor),
            ...given("decomposeBoth", o.decomposeBoth),
            ...given("targets", o.targets),
            ...given("prefix", o.prefix),
          }),
        );
      } finally {
        bar.stop();
      }
      if (o.quiet) return;
      writeChunks(ctx.io.out, renderExtract(summary));
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      ctx.io.out(
        `${summaryLine(summary)}: ${o.out} (${formatBytes(await outputSize(o.out))}, ${seconds} s)\n`,
      );
    });
}
