import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { exists } from "./fixture-files";
import { type CaseResult, runCase } from "./run-case";
import { runErrorCases, runFactorization, runInitCases } from "./run-globals";

/**
 * Runs a whole fixture directory: every case folder (a folder with `case.json`),
 * then `errors.json`, `init.json` and `factorization.json` when present.
 */
export function runDirectory(
  dir: string,
  registry: AdapterRegistry,
  onResult?: (r: CaseResult) => void,
): CaseResult[] {
  const results: CaseResult[] = [];
  const push = (r: CaseResult) => {
    results.push(r);
    onResult?.(r);
  };
  const cases = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && exists(join(dir, d.name, "case.json")))
    .map((d) => d.name)
    .sort();
  for (const name of cases) push(runCase(join(dir, name), registry));
  for (const r of runErrorCases(dir, registry)) push(r);
  for (const r of runInitCases(dir, registry)) push(r);
  for (const r of runFactorization(dir, registry)) push(r);
  return results;
}

/** One line per result: name, PASS/FAIL/SKIP, the first mismatch with its worst error. */
export function formatResult(r: CaseResult): string {
  const status = r.status.toUpperCase();
  const worst = r.worst > 0 ? ` (worst rel. error ${r.worst.toExponential(2)})` : "";
  return `${status.padEnd(4)} ${r.name}${r.detail ? ` — ${r.detail}` : ""}${r.status === "pass" ? worst : ""}`;
}
