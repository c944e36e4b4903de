import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError, Option } from "commander";
import type { AdapterKind } from "./adapter-config";
import type { ExampleOptions } from "./run-example";
import type { ReloadCheckFiles } from "./verify-reload";

/** The app folder (`apps/example`), from `src/` as from `dist/`. */
export const APP_DIR = fileURLToPath(new URL("..", import.meta.url));
/** Default `--out`: the saved adapter directory (git-ignored). */
export const DEFAULT_OUT = `${APP_DIR}out/adapter`;
/** Cached base weights (git-ignored). */
export const DEFAULT_CACHE_DIR = `${APP_DIR}.cache`;

/** What the command line asks for. */
export type CliCommand =
  | { readonly mode: "run"; readonly options: ExampleOptions }
  | { readonly mode: "verify"; readonly files: ReloadCheckFiles };

function int(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
    return n;
  };
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a positive number");
  return n;
}

function factor(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || (n !== -1 && n < 1))
    throw new InvalidArgumentError("expected -1 or an integer >= 1");
  return n;
}

/** The commander program (exported for `--help` tests). */
export function createProgram(): Command {
  return new Command()
    .name("lycoris-example")
    .description(
      "Fine-tune a small CNN on MNIST with a LyCORIS adapter (PEFT semantics).\n\n" +
        "A base CNN is trained on digits 0-4 and cached in .cache/ (later runs skip it). " +
        "A LoKr (or LoHa) adapter is then trained on digits 5-9, mapped to the same 5 outputs, " +
        "with the base weights frozen.\n\n" +
        "The run prints the accuracy before/after on a held-out split, saves the adapter as a PEFT " +
        "directory, reloads it in a fresh process and checks the predictions are identical, and checks " +
        "that the merged model (mergeAndUnload) predicts the same.",
    )
    .addOption(new Option("--adapter <kind>", "adapter variant").choices(["lokr", "loha"]).default("lokr"))
    .option("--r <n>", "rank r of the adapter", int(1), 8)
    .option("--alpha <x>", "alpha (the delta is scaled by alpha / r)", positive, 8)
    .option(
      "--decompose-both",
      "LoKr: also factor the left Kronecker factor into two low-rank matrices",
      false,
    )
    .option("--factor <n>", "LoKr decompose_factor: -1 = most balanced factorisation", factor, -1)
    .option("--epochs <n>", "adapter training epochs on digits 5-9", int(1), 5)
    .option("--lr <x>", "adapter learning rate (AdamW)", positive, 2e-2)
    .option("--seed <n>", "seed of the data shuffle, initialisation and batch order", int(0), 0)
    .addOption(
      new Option("--out <dir>", "where to save the PEFT adapter directory").default(
        DEFAULT_OUT,
        "apps/example/out/adapter",
      ),
    )
    .addOption(
      new Option("--cache-dir <dir>", "where the trained base weights are cached").default(
        DEFAULT_CACHE_DIR,
        "apps/example/.cache",
      ),
    )
    .option("--no-progress", "no progress bars")
    .addOption(new Option("--verify <dir>", "internal: reload check of a saved adapter").hideHelp())
    .addOption(new Option("--base <file>", "internal: base weights for --verify").hideHelp())
    .addOption(new Option("--check <file>", "internal: expected logits for --verify").hideHelp())
    .showHelpAfterError("(run with --help for the options)");
}

interface RawOptions {
  adapter: AdapterKind;
  r: number;
  alpha: number;
  decomposeBoth: boolean;
  factor: number;
  epochs: number;
  lr: number;
  seed: number;
  out: string;
  cacheDir: string;
  progress: boolean;
  verify?: string;
  base?: string;
  check?: string;
}

/** Parses `argv` (as `process.argv`); commander exits on `--help` and on bad flags. */
export function parseCommandLine(argv: readonly string[], program: Command = createProgram()): CliCommand {
  program.parse([...argv]);
  const o = program.opts<RawOptions>();
  if (o.verify !== undefined) {
    if (o.base === undefined || o.check === undefined) program.error("--verify needs --base and --check");
    return { mode: "verify", files: { adapterDir: o.verify, baseFile: o.base!, checkFile: o.check! } };
  }
  return {
    mode: "run",
    options: {
      adapter: o.adapter,
      r: o.r,
      alpha: o.alpha,
      decomposeBoth: o.decomposeBoth,
      decomposeFactor: o.factor,
      epochs: o.epochs,
      learningRate: o.lr,
      seed: o.seed,
      out: o.out,
      cacheDir: o.cacheDir,
      progress: o.progress,
    },
  };
}
