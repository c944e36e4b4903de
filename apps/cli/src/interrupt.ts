import { AdapterFilesError } from "@lycoris-ts/adapter-files";
import { CliError } from "./cli-error";

/**
 * Runs `task` with an `AbortSignal` that SIGINT / SIGTERM abort: the library stops between two
 * tensors and leaves no output, and the CLI reports `interrupted (SIGINT); no output written` (exit 130).
 */
export async function withInterrupt<T>(task: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let received: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    received = signal;
    controller.abort();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    return await task(controller.signal);
  } catch (error) {
    if (received !== null && error instanceof AdapterFilesError && error.kind === "aborted") {
      throw new CliError("interrupted", `interrupted (${received}); no output written`, { cause: error });
    }
    throw error;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
