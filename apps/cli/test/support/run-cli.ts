import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/**
 * The built CLI: the global setup's tsup build (`test-results/cli-build/main.js`, same config as `dist/`), or
 * `LYCORIS_CLI` to test another build (e.g. `LYCORIS_CLI=dist/main.js`).
 */
export const CLI =
  process.env.LYCORIS_CLI ?? fileURLToPath(new URL("../../test-results/cli-build/main.js", import.meta.url));

/** Result of one CLI run. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node dist/main.js ...args` and captures its exit code and output. */
export function runCli(
  args: readonly string[],
  opts: {
    readonly cwd?: string;
    readonly nodeArgs?: readonly string[];
    readonly env?: Readonly<Record<string, string>>;
  } = {},
): CliRun {
  const r = spawnSync(process.execPath, [...(opts.nodeArgs ?? []), CLI, ...args], {
    encoding: "utf8",
    cwd: opts.cwd,
    env: { ...process.env, NO_COLOR: "1", ...opts.env },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The non-empty lines of `text`. */
export function lines(text: string): string[] {
  return text.split("\n").filter((l) => l.trim().length > 0);
}
