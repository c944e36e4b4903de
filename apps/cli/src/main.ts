import { exitCodeOf, formatError } from "./format-error";
import { createProgram } from "./program";

/** `lycoris inspect … | head`: a closed stdout ends the program quietly instead of with a stack trace. */
function exitQuietlyOnBrokenPipe(): void {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    process.stderr.write(`error: cannot write to stdout: ${error.message}\n`);
    process.exit(1);
  });
}

async function main(argv: readonly string[]): Promise<number> {
  exitQuietlyOnBrokenPipe();
  const program = createProgram();
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    const commanderCode = (error as { code?: unknown }).code;
    if (typeof commanderCode === "string" && commanderCode.startsWith("commander.")) {
      // commander already printed its message (help, version, or a usage error)
      const exitCode = (error as { exitCode?: unknown }).exitCode;
      if (typeof exitCode !== "number" || exitCode === 0) return 0;
      return 2;
    }
    if (argv.includes("--debug") && error instanceof Error && error.stack !== undefined) {
      process.stderr.write(`${error.stack}\n`);
      if (error.cause !== undefined) process.stderr.write(`caused by: ${String(error.cause)}\n`);
    }
    process.stderr.write(`error: ${formatError(error)}\n`);
    return exitCodeOf(error);
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`error: ${formatError(error)}\n`);
    process.exitCode = 1;
  },
);
