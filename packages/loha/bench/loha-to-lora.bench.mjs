// LoHa → LoRA at rank 16: the SVD of ΔW = (A1·B1) ⊙ (A2·B2) = (A1 ⊙ᵣ A2)·(B1ᵀ ⊙ᵣ B2ᵀ)ᵀ from thin QRs of the two
// Khatri–Rao sides and an SVD of the r²×r² core (structured) vs materialising ΔW and running a full SVD
// (kernels' `svd`, float64 ml-matrix), both followed by the same B = U·S, A = Vᵀ step. Run by `pnpm bench`
// (scripts/bench.mjs) against the built packages.
//
// A full SVD of a 4096² matrix takes over an hour here, so at 4096² the baseline is estimated from the
// 512² run measured in the same process (× (4096/512)³, the SVD's cubic cost; a lower bound, since the larger
// matrix also falls out of cache). LYCORIS_BENCH_FULL_SVD=1 measures it instead.
import { createRng, normalTensor } from "@lycoris-ts/kernels";
import { loraFactors } from "@lycoris-ts/runtime";
import { lohaDeltaWeightSvd } from "../dist/index.js";

const RANK = 16;
const R = 8;
const measureFull = process.env.LYCORIS_BENCH_FULL_SVD === "1";

function lohaLayer(n) {
  const rng = createRng(11);
  return {
    layer: { kind: "linear", outFeatures: n, inFeatures: n, kernelSize: [] },
    params: {
      hada_w1_a: normalTensor([n, R], rng, 1),
      hada_w1_b: normalTensor([R, n], rng, 1),
      hada_w2_a: normalTensor([n, R], rng, 1),
      hada_w2_b: normalTensor([R, n], rng, 1),
    },
  };
}

export default async function bench(h) {
  const convert =
    ({ layer, params }, path) =>
    () =>
      loraFactors(lohaDeltaWeightSvd(params, layer, 0.5, { path }), RANK);

  const small = lohaLayer(512);
  const smallShape = "512², r = 8 → r16";
  const denseSmall = h.time(convert(small, "materialised"), { runs: 1, warmup: 0 });
  const group = "LoHa→LoRA 512²";
  h.row({
    group,
    op: "LoHa → LoRA",
    shape: smallShape,
    backend: "materialise + full SVD",
    ms: denseSmall,
    baseline: true,
  });
  h.row({
    group,
    op: "LoHa → LoRA",
    shape: smallShape,
    backend: "structured (Khatri–Rao QR)",
    ms: h.time(convert(small, "structured"), { runs: 21, warmup: 3 }),
  });

  const big = lohaLayer(4096);
  const bigShape = "4096², r = 8 → r16";
  const bigGroup = "LoHa→LoRA 4096²";
  if (measureFull) {
    h.row({
      group: bigGroup,
      op: "LoHa → LoRA",
      shape: bigShape,
      backend: "materialise + full SVD",
      ms: h.time(convert(big, "materialised"), { runs: 1, warmup: 0 }),
      baseline: true,
    });
  } else {
    h.row({
      group: bigGroup,
      op: "LoHa → LoRA",
      shape: bigShape,
      backend: "materialise + full SVD (est.)",
      ms: denseSmall * 8 ** 3,
      baseline: true,
      note: "estimated from the 512² run of the same process × 8³ (LYCORIS_BENCH_FULL_SVD=1 measures it, > 1 h)",
    });
  }
  h.row({
    group: bigGroup,
    op: "LoHa → LoRA",
    shape: bigShape,
    backend: "structured (Khatri–Rao QR)",
    ms: h.time(convert(big, "structured"), { runs: 11, warmup: 2 }),
  });
}
