import { createRng, type PaddingMode, type Tensor, tensor } from "@lycoris-ts/kernels";
import { registerLoHa } from "@lycoris-ts/loha";
import { registerLoKr } from "@lycoris-ts/lokr";
import {
  type AdapterPadding,
  AdapterRegistry,
  Conv1d,
  Conv2d,
  initModuleParameters,
  type Module,
  PeftModel,
  Sequential,
} from "@lycoris-ts/runtime";
import { describe, expect, it } from "vitest";
import { registerLoCon } from "../../../examples/custom-variant/src/locon";

// Every registered variant (LoKr, LoHa, and the LoCon written outside packages/) on convolutions of every
// padding mode: with `adapterPadding: "base"` the adapter path pads like the base layer, so merging the
// adapter into the weight leaves the output unchanged. With PEFT's default (`"zeros"`), a non-zero padding
// mode makes merged and unmerged outputs differ at the borders; the test checks that too, so it can fail.
//
// Tolerance: float32 convolutions of ≤ 36-term sums, computed as W·x + ΔW·x unmerged and (W + ΔW)·x merged,
// differ by a few ulps of the largest partial sums (~1e-6 relative); 1e-5 relative to the largest output
// leaves margin, and the uncorrected border difference (PEFT's behaviour) is of order 1e-2.
const TOL = 1e-5;
const PADDING_MODES: readonly PaddingMode[] = ["zeros", "reflect", "replicate", "circular"];

const registry = new AdapterRegistry();
registerLoKr(registry);
registerLoHa(registry);
registerLoCon(registry);

interface Layer {
  readonly name: string;
  readonly build: (paddingMode: PaddingMode) => Module;
  readonly input: readonly number[];
}

const layers: readonly Layer[] = [
  {
    name: "conv1d k3 padding 2 dilation 2",
    build: (paddingMode) => new Conv1d(4, 6, 3, { padding: 2, dilation: 2, paddingMode }),
    input: [2, 4, 9],
  },
  {
    name: "conv2d 3×3 padding 1 stride 2",
    build: (paddingMode) => new Conv2d(4, 6, 3, { padding: 1, stride: 2, paddingMode }),
    input: [2, 4, 6, 5],
  },
  {
    name: "conv2d 3×2 padding [1, 2] groups 2",
    build: (paddingMode) => new Conv2d(4, 6, [3, 2], { padding: [1, 2], groups: 2, paddingMode }),
    input: [2, 4, 5, 6],
  },
];

function random(shape: readonly number[], seed: number): Tensor<Float32Array> {
  const rng = createRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(
    Float32Array.from({ length: n }, () => rng.normal()),
    shape,
  );
}

/** max |merged − unmerged| relative to max(1, max |unmerged|). */
function mergeDrift(
  peftType: string,
  layer: Layer,
  paddingMode: PaddingMode,
  adapterPadding: AdapterPadding,
) {
  const base = new Sequential(layer.build(paddingMode));
  initModuleParameters(base, createRng(1));
  const config = registry
    .get(peftType)
    .createConfig({ r: 2, alpha: 3, targetModules: ["0"], initWeights: false });
  const peft = new PeftModel(base, config, "default", { registry, seed: 2, adapterPadding });
  peft.eval();
  const x = random(layer.input, 3);
  const unmerged = Float32Array.from(peft.forward(x).data);
  peft.merge();
  const merged = peft.forward(x).data;
  let scale = 1;
  let worst = 0;
  for (let i = 0; i < unmerged.length; i++) {
    scale = Math.max(scale, Math.abs(unmerged[i]!));
    worst = Math.max(worst, Math.abs(merged[i]! - unmerged[i]!));
  }
  return worst / scale;
}

describe("merged == unmerged forward for every registered variant with the padding correction on", () => {
  it("covers LoKr, LoHa and the LoCon example", () => {
    expect(registry.peftTypes()).toEqual(["LOKR", "LOHA", "LOCON"]);
  });

  for (const peftType of registry.peftTypes()) {
    for (const layer of layers) {
      for (const paddingMode of PADDING_MODES) {
        it(`${peftType}, ${layer.name}, padding_mode ${paddingMode}`, () => {
          expect(mergeDrift(peftType, layer, paddingMode, "base")).toBeLessThan(TOL);
          const peftDefault = mergeDrift(peftType, layer, paddingMode, "zeros");
          if (paddingMode === "zeros") expect(peftDefault).toBeLessThan(TOL);
          else expect(peftDefault).toBeGreaterThan(100 * TOL);
        });
      }
    }
  }
});
