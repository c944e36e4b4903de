import {
  conversionTarget,
  convertKohyaToPeft,
  convertLayout,
  convertPeftToKohya,
} from "@lycoris-ts/adapter-files";
import { TARGET_LAYOUTS, type TargetLayout } from "@lycoris-ts/lycoris-format";
import { type Command, Option } from "commander";
import { CliError } from "../cli-error";
import { withInterrupt } from "../interrupt";
import { type CommandContext, given, prefixMapOption } from "../options";
import { toLora } from "./convert-to-lora";

const HELP = `
To PEFT: PEFT's alpha / r is set to the loaders' scale (alpha = scale · r, alpha_pattern / rank_pattern
where modules differ; modules whose factors are all full get r = the network dim and alpha = r). Not
convertible (exit 1, with the reason): DoRA, files mixing algorithms, factor splits PEFT's layout
options cannot reproduce (unbalanced factorization, per-module factors).

To LoRA (--to lora): PEFT's convert_to_lora. Each layer's ΔW becomes its best rank-k approximation B·A
from the SVD, the scaling baked in (r = lora_alpha). --rank 8 keeps 8 singular values per layer; --rank 0.9
(a number with a point) keeps, per layer, the fewest that hold 90% of ‖ΔW‖² (rank_pattern per layer; 1.0 is
a threshold, 1 a rank). The result is a PEFT LoRA adapter directory. Conv layers convert too (lora_A with
the base kernel, lora_B 1×1); --peft-compatible refuses them as PEFT does. Prints per layer the rank, the
energy kept and the relative error ‖ΔW − B·A‖/‖ΔW‖.

To kohya/LyCORIS: keys are <prefix>_<module path below --module-root, "." → "_">.<tensor>. The stored
alpha is PEFT's scaling × the rank the loaders read from the factors; modules whose factors are all
full (where the loaders ignore alpha) get the scaling multiplied into one factor and alpha = r.
modules_to_save copies cannot be expressed (exit 1, naming them).

--layout kohya|comfy|diffusers (with --base, the checkpoint the adapter is for): writes an adapter
.safetensors file (kohya, LyCORIS, ComfyUI / ai-toolkit, diffusers, OneTrainer or PEFT names) again
with the module keys of one producer layout, each module on the same checkpoint tensor and rows:
kohya = lora_unet_ / lora_te_ / lora_te1_ / lora_te2_ names, comfy = diffusion_model.<checkpoint
path> (text_encoders.clip_l.… for text encoders), diffusers = unet. / transformer. / text_encoder. /
text_encoder_2. names as the loaders read them. LoRA tensors get kohya's lora_up / lora_down names;
every tensor's bytes are copied. A module the layout has no key for (rows of a fused Flux qkv /
linear1 in kohya / comfy, a whole fused weight in diffusers, ...), a key that is not placed, or a
tensor the loaders do not read is an error naming it (exit 1); --drop leaves them out instead.

Examples:
  $ lycoris convert my-lokr.safetensors --base sd15.safetensors --out ./my-lokr-peft
  $ lycoris convert ./my-lokr-peft --out my-lokr.safetensors
  $ lycoris convert ./unet-lokr-peft --to lycoris --prefix lora_unet --module-root unet --out my-lokr.safetensors
  $ lycoris convert ./my-lokr-peft --to lora --rank 16 --out ./my-lora
  $ lycoris convert ./my-loha-peft --to lora --rank 0.95 --peft-compatible --out ./my-lora
  $ lycoris convert flux-lora.safetensors --layout diffusers --base flux1-dev.safetensors --out flux-lora-diffusers.safetensors`;

interface ConvertOptions {
  to?: "peft" | "lycoris" | "lora";
  rank?: string;
  peftCompatible?: boolean;
  base?: string;
  out: string;
  prefix?: string;
  moduleRoot?: string;
  adapterName?: string;
  quiet?: boolean;
  prefixMap?: Record<string, string>;
  layout?: TargetLayout;
  drop?: boolean;
}

async function toLayout(
  input: string,
  layout: TargetLayout,
  o: ConvertOptions,
  ctx: CommandContext,
  signal: AbortSignal,
): Promise<{ line: string; warnings: string[] }> {
  loraOnly(o);
  for (const [flag, v] of [
    ["--to", o.to],
    ["--prefix", o.prefix],
    ["--module-root", o.moduleRoot],
    ["--adapter-name", o.adapterName],
    ["--prefix-map", o.prefixMap],
  ] as const) {
    if (v !== undefined) throw new CliError("usage", `${flag} does not apply with --layout`);
  }
  if (o.base === undefined)
    throw new CliError("usage", "convert --layout needs --base <checkpoint.safetensors>");
  const s = await convertLayout({
    adapter: input,
    base: o.base,
    out: o.out,
    layout,
    registry: ctx.registry,
    drop: o.drop === true,
    signal,
  });
  const n = (count: number, what: string): string => `${count} ${what}${count === 1 ? "" : "s"}`;
  const warnings = s.dropped.map(
    (d) => `left out ${n(d.tensors.length, "tensor")} of ${d.moduleKey}: ${d.reason}`,
  );
  const left = s.dropped.length > 0 ? `, ${n(s.dropped.length, "module key")} left out` : "";
  return {
    line: `converted ${input} to the ${layout} layout: ${o.out} (${n(s.modules.length, "module key")}, ${n(s.tensors, "tensor")}${left})`,
    warnings,
  };
}

/** `--rank` and `--peft-compatible` belong to `--to lora`. */
function loraOnly(o: ConvertOptions): void {
  if (o.rank !== undefined) throw new CliError("usage", "--rank applies to --to lora only");
  if (o.peftCompatible) throw new CliError("usage", "--peft-compatible applies to --to lora only");
}

async function toKohya(input: string, o: ConvertOptions, ctx: CommandContext): Promise<string> {
  loraOnly(o);
  if (o.prefixMap !== undefined)
    throw new CliError("usage", "--prefix-map applies to --to peft (use --prefix / --module-root)");
  const s = await convertPeftToKohya({
    adapter: input,
    out: o.out,
    registry: ctx.registry,
    ...given("adapterName", o.adapterName),
    ...given("prefix", o.prefix),
    ...given("moduleRoot", o.moduleRoot),
    ...given("base", o.base),
  });
  const baked = s.baked > 0 ? `, scale multiplied into ${s.scaleParameter} in ${s.baked}` : "";
  const dropped = s.dropped > 0 ? `, ${s.dropped} unchanged base-weight copies left out` : "";
  return `converted ${input} to a kohya/LyCORIS ${s.algo} file: ${o.out} (${s.modules} modules${baked}${dropped})`;
}

async function toPeft(input: string, o: ConvertOptions, ctx: CommandContext): Promise<string> {
  for (const [flag, v] of [
    ["--prefix", o.prefix],
    ["--module-root", o.moduleRoot],
    ["--adapter-name", o.adapterName],
  ] as const) {
    if (v !== undefined) throw new CliError("usage", `${flag} applies to --to lycoris only`);
  }
  loraOnly(o);
  if (o.base === undefined) throw new CliError("usage", "convert --to peft needs --base <model.safetensors>");
  const s = await convertKohyaToPeft({
    adapter: input,
    base: o.base,
    out: o.out,
    registry: ctx.registry,
    ...given("prefixes", o.prefixMap),
  });
  return `converted ${input} to a ${s.peftType} PEFT adapter: ${o.out} (${s.modules} modules, r=${s.r}, alpha=${s.alpha}, ${s.patterns} rank/alpha patterns)`;
}

function toLoraChecked(input: string, o: ConvertOptions, ctx: CommandContext): Promise<string> {
  for (const [flag, v] of [
    ["--prefix", o.prefix],
    ["--module-root", o.moduleRoot],
    ["--prefix-map", o.prefixMap],
  ] as const) {
    if (v !== undefined) throw new CliError("usage", `${flag} does not apply to --to lora`);
  }
  return toLora(input, o, ctx);
}

/** `lycoris convert <input> [--to peft|lycoris] --out o`: the direction follows the input by default. */
export function addConvertCommand(program: Command, ctx: CommandContext): void {
  program
    .command("convert")
    .description(
      "Convert an adapter between formats with the same ΔW: a kohya/LyCORIS file → a PEFT adapter directory, a PEFT adapter directory → a kohya/LyCORIS file, or (--layout) an adapter file → the same file in another producer's key layout; or a PEFT adapter directory → a LoRA of a chosen rank (--to lora).",
    )
    .argument("<input>", "a kohya/LyCORIS-format .safetensors file, or a PEFT adapter directory")
    .addOption(
      new Option(
        "--to <format>",
        "target format (default: peft for a kohya/LyCORIS file, lycoris for a PEFT directory)",
      ).choices(["peft", "lycoris", "lora"]),
    )
    .requiredOption(
      "--out <path>",
      "--to peft / lora: the PEFT adapter directory to write; --to lycoris: the .safetensors file to write (atomically)",
    )
    .option(
      "--rank <rank|threshold>",
      "--to lora: a rank per layer (an integer: 8), or an energy threshold in (0, 1] (a number with a point: 0.9, 1.0)",
    )
    .option(
      "--peft-compatible",
      "--to lora: refuse conv layers with PEFT's error, as PEFT's convert_to_lora does",
    )
    .option(
      "--base <model.safetensors>",
      "the base model (required with --to peft; with --to lycoris optional, its shapes tell Conv1d Tucker cores apart; with --to lora optional, its shapes tell a conv whose kernel the factors fold from a linear layer)",
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
    .addOption(
      new Option(
        "--layout <layout>",
        "write an adapter .safetensors file again in this producer's key layout (needs --base)",
      ).choices(TARGET_LAYOUTS),
    )
    .option("--drop", "--layout: leave out the module keys the layout cannot express (default: refuse)")
    .option("-q, --quiet", "print nothing on success")
    .addHelpText("after", HELP)
    .action(async (input: string, opts: ConvertOptions) => {
      const layout = opts.layout;
      if (layout !== undefined) {
        const r = await withInterrupt(opts.out, (signal) => toLayout(input, layout, opts, ctx, signal));
        for (const w of r.warnings) ctx.io.err(`warning: ${w}\n`);
        if (!opts.quiet) ctx.io.out(`${r.line}\n`);
        return;
      }
      if (opts.drop === true) throw new CliError("usage", "--drop applies to --layout only");
      const to = opts.to ?? (await conversionTarget(input, ctx.registry));
      // Conversions are small and not abortable: a signal waits for the write to finish (no temporary file left).
      const line = await withInterrupt(opts.out, () =>
        to === "lora"
          ? toLoraChecked(input, opts, ctx)
          : to === "lycoris"
            ? toKohya(input, opts, ctx)
            : toPeft(input, opts, ctx),
      );
      if (!opts.quiet) ctx.io.out(`${line}\n`);
    });
}
