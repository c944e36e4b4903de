import { stat } from "node:fs/promises";
import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { CliError } from "./cli-error";
import { isLycorisFile } from "./lycoris-file";

/**
 * The format `lycoris convert` writes when `--to` is not given: `peft` for a kohya / LyCORIS
 * `.safetensors` file, `lycoris` for a directory (a PEFT adapter directory).
 *
 * @throws CliError `input` when `input` is neither.
 */
export async function conversionTarget(
  input: string,
  registry: AdapterRegistry,
): Promise<"peft" | "lycoris"> {
  if (await isLycorisFile(input, registry)) return "peft";
  const s = await stat(input).catch(() => null);
  if (s?.isDirectory()) return "lycoris";
  throw new CliError(
    "input",
    s === null
      ? `${input}: no such file or directory`
      : `${input}: neither a kohya/LyCORIS file nor a PEFT adapter directory (use --to to say which direction)`,
  );
}
