import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

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
    /** Kill the run after this long (default 60 s: a hang, not a speed limit). */
    readonly timeoutMs?: number;
  } = {},
): CliRun {
  const r = spawnSync(process.execPath, [...(opts.nodeArgs ?? []), CLI, ...args], {
    encoding: "utf8",
    cwd: opts.cwd,
    env: { ...process.env, NO_COLOR: "1", ...opts.env },
    timeout: opts.timeoutMs ?? 60_000,
    maxBuffer: 1 << 30,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The non-empty lines of `text`. */
export function lines(text: string): string[] {
  return text.split("\n").filter((l) => l.trim().length > 0);
}

/** A failed run: non-zero exit, exactly one `error: …` line on stderr, no stack trace. */
export function expectOneLineError(run: CliRun, pattern: RegExp, code = 1): void {
  expect(run.code).toBe(code);
  const err = lines(run.stderr);
  expect(err, run.stderr).toHaveLength(1);
  expect(err[0]).toMatch(/^error: /);
  expect(err[0]).toMatch(pattern);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}
