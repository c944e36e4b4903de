// One large module merged into its base weight (runtime's `mergeIntoWeight`, the step of every file
// merge and of `LycorisLayer.merge`), and the ΔW the kohya / LyCORIS file merges take from a variant's
// `deltaWeight` hook: with ΔW in a fresh array per call (baseline: what merges did before the scratch
// pool) vs in one ScratchPool reused across calls (what merges do now). Where touching fresh memory is
// expensive, the fresh rows pay first-touch of a new 64 MB ΔW on every call. LoHa's merge already
// went block by block (1 MB of scratch), so its merge rows should be about equal; its ΔW rows are not.
// Both ways are timed twice, alternating, and the faster median is kept (less order bias on a busy machine).
// Run by `pnpm bench` (scripts/bench.mjs) against the built packages.
import { createRng, normalTensor, ScratchPool, uniformTensor } from "@lycoris-ts/kernels";
import { LoHaConfig, lohaVariant } from "@lycoris-ts/loha";
import { LoraConfig, loraVariant } from "@lycoris-ts/lora";
import { geometryFromWeightShape, mergeIntoWeight } from "@lycoris-ts/runtime";

const N = 4096;

function freshVsReused(h, run, pool) {
  const opts = { runs: 5, warmup: 1 };
  let fresh = Number.POSITIVE_INFINITY;
  let reused = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 2; round++) {
    fresh = Math.min(
      fresh,
      h.time(() => run(undefined), opts),
    );
    reused = Math.min(
      reused,
      h.time(() => run(pool), opts),
    );
  }
  return { fresh, reused };
}

function rows(h, group, op, shape, { fresh, reused }) {
  const bytes = N * N * 4;
  h.row({ group, op: `${op} (fresh ΔW)`, shape, backend: "auto", ms: fresh, bytes, baseline: true });
  h.row({ group, op: `${op} (reused ΔW)`, shape, backend: "auto", ms: reused, bytes });
  console.error(`  ${op} ${shape}: reused ΔW ${(fresh / reused).toFixed(2)}× the speed of fresh ΔW`);
}

export default async function bench(h) {
  const rng = createRng(7);
  const layer = geometryFromWeightShape([N, N]);
  const weight = uniformTensor([N, N], rng, -1, 1);
  const cases = [
    ["LoRA", loraVariant, new LoraConfig({ r: 16 }), 16],
    ["LoHa", lohaVariant, new LoHaConfig({ r: 8 }), 8],
  ];
  for (const [name, variant, config, r] of cases) {
    const ctx = { config, r, alpha: r, layer };
    const params = {};
    for (const [p, shape] of variant.parameterLayout(ctx).params) params[p] = normalTensor(shape, rng, 0.02);
    const pool = new ScratchPool().reserve(N * N);
    const shape = `${N}², r = ${r}`;
    // +s then −s: the weight stays bounded over the runs
    let s = 1;
    const merge = (scratch) => {
      mergeIntoWeight(variant, weight, params, ctx, s, scratch);
      s = -s;
    };
    rows(h, `merge-scratch-${name}`, `${name} merge`, shape, freshVsReused(h, merge, pool));
    if (name === "LoHa") {
      const delta = (scratch) => variant.deltaWeight(params, ctx, 1, scratch?.take(N * N));
      rows(h, `delta-hook-${name}`, `${name} deltaWeight hook`, shape, freshVsReused(h, delta, pool));
    }
  }
}
