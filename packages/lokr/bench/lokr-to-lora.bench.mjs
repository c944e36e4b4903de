// LoKr → LoRA at rank 16: the SVD of ΔW = w1 ⊗ w2 from the SVDs of the two factors (structured) vs
// materialising ΔW and running a full SVD (kernels' `svd`, float64 ml-matrix), both followed by the same
// B = U·S, A = Vᵀ step. Run by `pnpm bench` (scripts/bench.mjs) against the built packages.
//
// A full SVD of a 4096² matrix takes over an hour here, so at 4096² the baseline is estimated from the
// 512² run measured in the same process (× (4096/512)³, the SVD's cubic cost; a lower bound, since the larger
// matrix also falls out of cache). LYCORIS_BENCH_FULL_SVD=1 measures it instead.
import { createRng, normalTensor } from "@lycoris-ts/kernels";
import { loraFactors } from "@lycoris-ts/runtime";
import { lokrDeltaWeightSvd } from "../dist/index.js";

const RANK = 16;
const measureFull = process.env.LYCORIS_BENCH_FULL_SVD === "1";

function lokrLayer(l, m, k, n) {
  const rng = createRng(7);
  return {
    layer: { kind: "linear", outFeatures: l * k, inFeatures: m * n, kernelSize: [] },
    params: { lokr_w1: normalTensor([l, m], rng, 1), lokr_w2: normalTensor([k, n], rng, 1) },
  };
}

export default async function bench(h) {
  const convert =
    ({ layer, params }, path) =>
    () =>
      loraFactors(lokrDeltaWeightSvd(params, layer, 0.5, { path }), RANK);

  const small = lokrLayer(32, 32, 16, 16);
  const smallShape = "512² (32×32 ⊗ 16×16) → r16";
  const denseSmall = h.time(convert(small, "materialised"), { runs: 1, warmup: 0 });
  const group = "LoKr→LoRA 512²";
  h.row({
    group,
    op: "LoKr → LoRA",
    shape: smallShape,
    backend: "materialise + full SVD",
    ms: denseSmall,
    baseline: true,
  });
  h.row({
    group,
    op: "LoKr → LoRA",
    shape: smallShape,
    backend: "structured (factor SVDs)",
    ms: h.time(convert(small, "structured"), { runs: 21, warmup: 3 }),
  });

  const big = lokrLayer(64, 64, 64, 64);
  const bigShape = "4096² (64×64 ⊗ 64×64) → r16";
  const bigGroup = "LoKr→LoRA 4096²";
  if (measureFull) {
    h.row({
      group: bigGroup,
      op: "LoKr → LoRA",
      shape: bigShape,
      backend: "materialise + full SVD",
      ms: h.time(convert(big, "materialised"), { runs: 1, warmup: 0 }),
      baseline: true,
    });
  } else {
    h.row({
      group: bigGroup,
      op: "LoKr → LoRA",
      shape: bigShape,
      backend: "materialise + full SVD (est.)",
      ms: denseSmall * 8 ** 3,
      baseline: true,
      note: "estimated from the 512² run of the same process × 8³ (LYCORIS_BENCH_FULL_SVD=1 measures it, > 1 h)",
    });
  }
  h.row({
    group: bigGroup,
    op: "LoKr → LoRA",
    shape: bigShape,
    backend: "structured (factor SVDs)",
    ms: h.time(convert(big, "structured"), { runs: 21, warmup: 3 }),
  });
}
