import { AdapterFilesError } from "@lycoris-ts/adapter-files";
import { LycorisError } from "@lycoris-ts/errors";
import { CliError } from "./cli-error";

/** Collapses a message to a single line (multi-line messages are joined with "; "). */
export function oneLine(message: string): string {
  return message
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .join("; ");
}

/**
 * The one line the CLI prints for `error` (without the `error: ` prefix). Errors of this project's
 * packages (`instanceof LycorisError`: the one place that checks) carry messages meant for users and
 * are printed as they are, as are Node.js system errors; anything else is marked as unexpected, with
 * a hint to rerun with `--debug`.
 */
export function formatError(error: unknown): string {
  if (error instanceof Error) {
    if (error instanceof LycorisError) return oneLine(error.message);
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return oneLine(error.message);
    return `unexpected ${error.name}: ${oneLine(error.message)} (rerun with --debug for a stack trace)`;
  }
  return `unexpected error: ${oneLine(String(error))} (rerun with --debug for a stack trace)`;
}

/** The exit code for `error`: a {@link CliError}'s own, 2 for a missing adapter choice, 130 when aborted, else 1. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof AdapterFilesError && error.kind === "choose_adapter") return 2;
  if (error instanceof AdapterFilesError && error.kind === "aborted") return 130;
  return 1;
}
