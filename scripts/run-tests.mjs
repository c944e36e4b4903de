#!/usr/bin/env node
// The README's test command: lint, then build + typecheck + tests + package checks for
// every workspace package through turbo, then one summary line summed over all packages.
import { spawnSync } from "node:child_process";
import { summarize } from "./test-summary.mjs";

const env = { ...process.env, TURBO_TELEMETRY_DISABLED: "1", FORCE_COLOR: process.env.FORCE_COLOR ?? "0" };
const run = (cmd, args) => spawnSync(cmd, args, { stdio: "inherit", env }).status ?? 1;

let failedStep = "";
if (run("pnpm", ["exec", "biome", "check", "."]) !== 0) failedStep = "lint (biome check)";
const turboStatus = run("pnpm", [
  "exec",
  "turbo",
  "run",
  "lint",
  "build",
  "typecheck",
  "test",
  "check-package",
  "--continue",
  "--output-logs=new-only",
]);
if (turboStatus !== 0 && !failedStep) failedStep = "turbo (lint/build/typecheck/test/check-package)";

const { passed, failed, skipped, files } = summarize();
if (failedStep) console.error(`\nfailed step: ${failedStep}`);
if (files === 0 || passed + failed === 0) console.error("\nno test ran");
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failedStep || failed > 0 || passed === 0 ? 1 : 0);
