#!/usr/bin/env node
// Sums every package's vitest JSON report (test-results/vitest.json) into one count.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

export function summarize() {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  let files = 0;
  for (const group of ["packages", "apps", "examples"]) {
    const dir = join(root, group);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      const report = join(dir, name, "test-results", "vitest.json");
      if (!existsSync(report)) continue;
      files += 1;
      const json = JSON.parse(readFileSync(report, "utf8"));
      passed += json.numPassedTests ?? 0;
      failed += (json.numFailedTests ?? 0) + (json.success === false && !json.numFailedTests ? 1 : 0);
      skipped += (json.numPendingTests ?? 0) + (json.numTodoTests ?? 0);
    }
  }
  return { passed, failed, skipped, files };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { passed, failed, skipped } = summarize();
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exit(failed > 0 || passed === 0 ? 1 : 0);
}
