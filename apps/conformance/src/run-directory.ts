import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { exists } from "./fixture-files";
import { type CaseResult, runCase } from "./run-case";
import { runConversionCase } from "./run-conversion-case";
import { runErrorCases, runFactorization, runInitCases } from "./run-globals";
import { runLycorisCase } from "./run-lycoris-case";

/**
 * Runs a whole fixture directory: every PEFT-format case folder (a folder with `case.json`), every
 * kohya/LyCORIS-format case folder (`adapter.safetensors` + `expected.json`, fixtures/lycoris/FORMAT.md),
 * every PEFT `convert_to_lora` case folder (`conversion.json`, fixtures/peft-lora-conversion/FORMAT.md), then
 * `errors.json`, `init.json` and `factorization.json` when present (not in a `convert_to_lora` set, whose
 * `errors.json` records probes without data).
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
  const lycorisCases = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !exists(join(dir, d.name, "case.json")))
    .filter(
      (d) => exists(join(dir, d.name, "adapter.safetensors")) && exists(join(dir, d.name, "expected.json")),
    )
    .map((d) => d.name)
    .sort();
  for (const name of lycorisCases) push(runLycorisCase(dir, { name, peft_conversion: null }, registry));
  const conversionCases = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && exists(join(dir, d.name, "conversion.json")))
    .map((d) => d.name)
    .sort();
  for (const name of conversionCases) push(runConversionCase(dir, name, registry));
  if (conversionCases.length > 0) return results;
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
