// Preloaded (`node --import`) into the measured process by merge-bench.mjs: on exit, writes the
// process's own resource usage (CPU times, peak RSS) to $LYCORIS_BENCH_USAGE.
import { writeFileSync } from "node:fs";

const target = process.env.LYCORIS_BENCH_USAGE;
if (target) process.on("exit", () => writeFileSync(target, JSON.stringify(process.resourceUsage())));
