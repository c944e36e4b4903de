// LoHa linear apply: factorised (Khatri–Rao, rank ≤ r², ΔW never built) vs materialising ΔW and
// running a dense product, for a 4096×4096 layer with r = 8 at batch 1 / 8 / 64.
// Runs against the built package (`pnpm --filter @lycoris-ts/loha build` first).
// Usage: node bench/loha-apply.mjs [--quick]
//   LOHA_BENCH_MODULE=<path or specifier> overrides the module under test (default ../dist/index.js).
//   LYCORIS_BACKEND=js|wasm|... selects the kernels backend (see @lycoris-ts/kernels).
// Benchmarks are informational: this script never fails on timings.
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";

const quick = process.argv.includes("--quick");
const spec = process.env.LOHA_BENCH_MODULE
  ? pathToFileURL(process.env.LOHA_BENCH_MODULE).href
  : new URL("../dist/index.js", import.meta.url).href;
const loha = await import(spec);
const kernels = await import("@lycoris-ts/kernels");
for (const name of ["lohaForward", "lohaParamShapes", "lohaLinearPath"]) {
  if (typeof loha[name] !== "function") {
    console.error(
      `${spec} does not export ${name}; re-export packages/loha/src/functional from src/index.ts and rebuild`,
    );
    process.exit(1);
  }
}

const OUT = 4096;
const IN = 4096;
const R = 8;
const BATCHES = quick ? [1, 8] : [1, 8, 64];
const layer = { kind: "linear", outFeatures: OUT, inFeatures: IN, kernelSize: [] };
const rng = kernels.createRng(2024);
const params = {};
for (const [name, shape] of loha.lohaParamShapes(layer, { r: R, useEffectiveConv2d: false }).params) {
  params[name] = kernels.normalTensor(shape, rng, 0.05);
}
const scale = 1;

/** Median wall time (ms) of `fn` over at least `minReps` runs or ~`budgetMs`, after one warm-up. */
function time(fn, minReps, budgetMs) {
  let last = fn();
  const samples = [];
  const start = performance.now();
  while (samples.length < minReps || (performance.now() - start < budgetMs && samples.length < 50)) {
    const t0 = performance.now();
    last = fn();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return { ms: samples[Math.floor(samples.length / 2)], reps: samples.length, last };
}

const rows = [];
for (const n of BATCHES) {
  const x = kernels.normalTensor([n, IN], rng, 1);
  const f = time(
    () => loha.lohaForward(x, params, layer, scale, undefined, { path: "factorised" }),
    3,
    quick ? 300 : 1500,
  );
  const m = time(
    () => loha.lohaForward(x, params, layer, scale, undefined, { path: "materialised" }),
    2,
    quick ? 300 : 1500,
  );
  let maxErr = 0;
  let maxAbs = 0;
  for (let i = 0; i < m.last.data.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(m.last.data[i]));
    maxErr = Math.max(maxErr, Math.abs(f.last.data[i] - m.last.data[i]));
  }
  rows.push({
    batch: n,
    auto: loha.lohaLinearPath("auto", n, OUT, IN, R, R),
    factorisedMs: f.ms,
    materialisedMs: m.ms,
    speedup: m.ms / f.ms,
    relDiff: maxErr / (maxAbs || 1),
    reps: `${f.reps}/${m.reps}`,
  });
}

const backend = typeof kernels.getBackend === "function" ? kernels.getBackend() : "?";
console.log(
  `LoHa linear apply, ${OUT}x${IN}, r=${R}, float32, kernels backend: ${backend}, node ${process.version}`,
);
console.log("baseline = materialise ΔW (lowRankHadamard) + dense matmul, measured in the same run");
const header = [
  "batch",
  "auto picks",
  "factorised ms",
  "materialised ms",
  "speedup",
  "max |Δ|/max|y|",
  "reps f/m",
];
const body = rows.map((r) => [
  String(r.batch),
  r.auto,
  r.factorisedMs.toFixed(2),
  r.materialisedMs.toFixed(2),
  `${r.speedup.toFixed(1)}x`,
  r.relDiff.toExponential(1),
  r.reps,
]);
const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
const line = (cells) => `| ${cells.map((c, i) => c.padStart(widths[i])).join(" | ")} |`;
console.log(line(header));
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const b of body) console.log(line(b));
