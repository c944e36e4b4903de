import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { AdapterFilesError } from "./adapter-files-error";
import type { AdapterInput } from "./file-input";
import { isKohyaFile } from "./kohya-file";
import { nodeFs } from "./node-builtins";

/**
 * The format a conversion of `input` writes when none is asked for: `peft` for a kohya / LyCORIS
 * `.safetensors` file, `lycoris` for a PEFT adapter directory (a path, or directory files).
 *
 * @throws AdapterFilesError `not_found` / `input` when `input` is neither.
 */
export async function conversionTarget(
  input: AdapterInput,
  registry: AdapterRegistry,
): Promise<"peft" | "lycoris"> {
  if (typeof input !== "string") {
    if (!(input instanceof Blob)) return "lycoris";
    if (await isKohyaFile(input, registry)) return "peft";
    throw new AdapterFilesError("input", "the file is not a kohya/LyCORIS file of a registered variant");
  }
  if (await isKohyaFile(input, registry)) return "peft";
  const s = await nodeFs()
    .stat(input)
    .catch(() => null);
  if (s?.isDirectory()) return "lycoris";
  if (s === null)
    throw new AdapterFilesError("not_found", `${input}: no such file or directory`, { path: input });
  throw new AdapterFilesError(
    "input",
    `${input}: neither a kohya/LyCORIS file nor a PEFT adapter directory (say which direction to convert)`,
    { path: input },
  );
}
