import { ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME } from "@lycoris-ts/runtime";
import { AdapterFilesError } from "./adapter-files-error";
import { checkOutputPath } from "./check-output-path";
import type { AdapterInput } from "./file-input";
import { nodeFs, nodePath } from "./node-builtins";

/**
 * Refuses a PEFT adapter output directory that is or holds an input, lies in one, or already holds an adapter.
 *
 * @throws AdapterFilesError `refused` / `input`.
 */
export async function checkPeftOutput(
  out: string,
  inputFiles: readonly AdapterInput[],
  inputDirs: readonly AdapterInput[],
): Promise<void> {
  await checkOutputPath(out, inputFiles, inputDirs, {
    directoryOf: [ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME],
  });
  const existing = await nodeFs()
    .stat(nodePath().join(out, ADAPTER_CONFIG_NAME))
    .catch(() => null);
  if (existing !== null) {
    throw new AdapterFilesError(
      "refused",
      `${out} already holds a PEFT adapter (${ADAPTER_CONFIG_NAME}); choose another output`,
      {
        path: out,
      },
    );
  }
}
