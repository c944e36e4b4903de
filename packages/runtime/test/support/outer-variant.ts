import { createRng, matmul, type Tensor, tensor, zeros } from "@lycoris-ts/kernels";
import { LycorisConfig, type LycorisConfigOptions } from "@lycoris-ts/lycoris-config";
import { type AdapterVariant, Container, Linear } from "../../src/index";

/**
 * A variant defined outside the monorepo's packages: a plain rank-r outer
 * product ΔW = (alpha / r) · B·A ("OUTER", prefix "outer_"). It only supplies
 * the required hooks plus deltaWeightBackward; the runtime gives it injection,
 * merge, multi-adapter, training and save/load.
 */
export class OuterConfig extends LycorisConfig {
  constructor(o: LycorisConfigOptions = {}) {
    super("OUTER", o);
  }
}

export const outerVariant: AdapterVariant<OuterConfig> = {
  peftType: "OUTER",
  prefix: "outer_",
  parameterNames: ["outer_a", "outer_b"],
  supportedKinds: ["linear"],
  createConfig: (o) => new OuterConfig(o),
  parameterLayout: ({ r, layer }) => ({
    params: [
      ["outer_a", [r, layer.inFeatures]],
      ["outer_b", [layer.outFeatures, r]],
    ],
  }),
  initParameters: ({ r, layer, config }, rng) => {
    const a = zeros([r, layer.inFeatures]);
    for (let i = 0; i < a.data.length; i++) a.data[i] = rng.normal() * 0.1;
    const b = zeros([layer.outFeatures, r]);
    if (config.initWeights === false) for (let i = 0; i < b.data.length; i++) b.data[i] = rng.normal() * 0.1;
    return { outer_a: a, outer_b: b };
  },
  deltaWeight: (p, _ctx, s) => {
    const d = matmul(p.outer_b!, p.outer_a!);
    for (let i = 0; i < d.data.length; i++) d.data[i] = d.data[i]! * s;
    return d;
  },
  deltaWeightBackward: (p, _ctx, s, dD) => {
    const da = matmul(p.outer_b!, dD, { transA: true });
    const db = matmul(dD, p.outer_a!, { transB: true });
    for (const t of [da, db]) for (let i = 0; i < t.data.length; i++) t.data[i] = t.data[i]! * s;
    return { outer_a: da, outer_b: db };
  },
};

/** A root container with `block.q`, `block.v`, `block.out`: Linear(6, 6) with seeded N(0, 1) weights. */
export function baseModel(seed = 1): Container {
  const rng = createRng(seed);
  const root = new Container();
  const block = new Container();
  root.registerModule("block", block);
  for (const name of ["q", "v", "out"]) {
    const lin = new Linear(6, 6, true);
    for (const p of lin.parameters())
      for (let i = 0; i < p.data.data.length; i++) p.data.data[i] = rng.normal();
    block.registerModule(name, lin);
  }
  return root;
}

/** A seeded [4, 6] input. */
export function input(seed = 2): Tensor<Float32Array> {
  const rng = createRng(seed);
  return tensor(
    Float32Array.from({ length: 4 * 6 }, () => rng.normal()),
    [4, 6],
  );
}
