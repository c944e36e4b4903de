import { constants } from "node:os";
import { AdapterFilesError } from "@lycoris-ts/adapter-files";
import { CliError } from "./cli-error";

/** The signals that stop a writing command cleanly (the temporary file removed, a message saying what is on disk). */
const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * Runs `task`, which writes `out`, with an `AbortSignal` that SIGINT / SIGTERM / SIGHUP abort: the
 * library stops between two tensors, removes its temporary file and leaves no output. A repeated
 * signal (a second Ctrl-C) is ignored while it does. The CLI then exits with 128 + the signal's
 * number (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP) and one line saying what is on disk:
 * `<out> not written` when the task stopped, `<out> is written` when the signal came too late to
 * stop it (during the final fsync / rename).
 */
export async function withInterrupt<T>(out: string, task: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let received: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    received ??= signal;
    controller.abort();
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  const interrupted = (signal: NodeJS.Signals, onDisk: string, cause?: unknown) =>
    new CliError("interrupted", `interrupted (${signal}); ${onDisk}`, {
      cause,
      exitCode: 128 + constants.signals[signal],
    });
  try {
    const result = await task(controller.signal);
    if (received !== null) throw interrupted(received, `too late to stop: ${out} is written and complete`);
    return result;
  } catch (error) {
    if (received !== null && error instanceof AdapterFilesError && error.kind === "aborted") {
      throw interrupted(received, `${out} not written (no temporary file left)`, error);
    }
    throw error;
  } finally {
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
  }
}
