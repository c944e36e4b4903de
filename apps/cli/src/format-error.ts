import { AdapterFilesError } from "@lycoris-ts/adapter-files";
import { KernelsError } from "@lycoris-ts/kernels";
import { LoHaMathError } from "@lycoris-ts/loha";
import { LoKrError } from "@lycoris-ts/lokr";
import { LycorisConfigError } from "@lycoris-ts/lycoris-config";
import { KohyaNameError, LycorisFormatError } from "@lycoris-ts/lycoris-format";
import { AdapterError, AdapterFileError, ModelError, SafetensorsError } from "@lycoris-ts/runtime";
import { CliError } from "./cli-error";

/** The library error classes whose messages are meant for users: printed as they are. */
const LIBRARY_ERRORS = [
  CliError,
  AdapterFilesError,
  AdapterError,
  AdapterFileError,
  SafetensorsError,
  LycorisConfigError,
  KohyaNameError,
  LycorisFormatError,
  LoKrError,
  LoHaMathError,
  ModelError,
  KernelsError,
] as const;

/** Collapses a message to a single line (multi-line messages are joined with "; "). */
export function oneLine(message: string): string {
  return message
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .join("; ");
}

/**
 * The one line the CLI prints for `error` (without the `error: ` prefix): errors of this project's
 * packages (the one place that checks them, by `instanceof`) and Node.js system errors as they are;
 * anything else is marked as unexpected, with a hint to rerun with `--debug`.
 */
export function formatError(error: unknown): string {
  if (error instanceof Error) {
    if (LIBRARY_ERRORS.some((c) => error instanceof c)) return oneLine(error.message);
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
