// LoKr on a 4096×4096 Linear with PEFT's default LoKr config (r = 8, alpha = 8, decompose_factor = -1):
// structured adapter forward vs materialise-then-dense vs the bare base matmul, at batch 1 / 8 / 64,
// plus merge and unmerge time. Uses the built packages (run `pnpm --filter @lycoris-ts/lokr... build` first).
//
//   node packages/lokr/bench/lokr-linear.mjs [--quick]
//
// The baseline (bare base matmul) is measured in the same run. Not part of any pass/fail.
import { performance } from "node:perf_hooks";
import { createRng, getBackend, matmul, uniformTensor } from "@lycoris-ts/kernels";
import {
  initLoKrParams,
  lokrDeltaWeight,
  lokrForward,
  lokrMergeInto,
  lokrParamShapes,
} from "../dist/index.js";

const quick = process.argv.includes("--quick");
const OUT = 4096;
const IN = 4096;
const BATCHES = [1, 8, 64];
const MIN_TIME_MS = quick ? 150 : 600;
const MIN_RUNS = quick ? 2 : 5;

const layer = { kind: "linear", outFeatures: OUT, inFeatures: IN, kernelSize: [] };
const options = { r: 8, decomposeBoth: false, decomposeFactor: -1, useEffectiveConv2d: false };
const alpha = 8;
const scaling = alpha / options.r;
const rng = createRng(42);
const bound = 1 / Math.sqrt(IN);
const weight = uniformTensor([OUT, IN], rng, -bound, bound);
// init_weights = false: every factor random, so ΔW ≠ 0 and nothing can be skipped
const params = initLoKrParams(layer, options, false, rng);
const { structure } = lokrParamShapes(layer, options);

/** Median wall time (ms) of fn over at least MIN_RUNS runs and MIN_TIME_MS total, after one warm-up. */
function time(fn) {
  fn();
  const samples = [];
  const start = performance.now();
  while (samples.length < MIN_RUNS || performance.now() - start < MIN_TIME_MS) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
    if (samples.length >= 200) break;
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

const fmt = (ms) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`);
const rows = [];
for (const batch of BATCHES) {
  const x = uniformTensor([batch, IN], rng, -1, 1);
  const base = time(() => matmul(x, weight, { transB: true }));
  const structured = time(() => lokrForward(x, params, layer, scaling));
  const materialised = time(() => matmul(x, lokrDeltaWeight(params, layer, scaling), { transB: true }));
  rows.push({
    batch,
    "base matmul": fmt(base),
    "adapter (structured)": fmt(structured),
    "adapter (materialised)": fmt(materialised),
    "unmerged overhead": `${((structured / base) * 100).toFixed(1)} %`,
    "materialised overhead": `${((materialised / base) * 100).toFixed(1)} %`,
  });
}

const mergeMs = time(() => {
  lokrMergeInto(weight, params, layer, scaling);
  lokrMergeInto(weight, params, layer, -scaling);
});
const mergeOnly = time(() => lokrMergeInto(weight, params, layer, scaling));
const unmergeOnly = time(() => lokrMergeInto(weight, params, layer, -scaling));

console.log(
  `LoKr ${OUT}×${IN} Linear, r=${options.r}, alpha=${alpha}, structure w1=${structure.w1} ${structure.outFactors[0]}×${structure.inFactors[0]}, ` +
    `w2=${structure.w2} ${structure.outFactors[1]}×${structure.inFactors[1]}; kernels backend: ${getBackend()}`,
);
console.table(rows);
console.log(
  `merge: ${fmt(mergeOnly)}   unmerge: ${fmt(unmergeOnly)}   merge+unmerge: ${fmt(mergeMs)}   ` +
    "(merged forward = base matmul)",
);
