import type { Tensor } from "@lycoris-ts/kernels";
import { describe, expect, it } from "vitest";
import { LoraError, type LoraLayerShape, loraDeltaWeight, loraForward } from "../src/functional";
import { maxAbsDiff, naiveConv, naiveMatmul, naiveTranspose } from "./support/naive";
import { CASES, randomInput64, randomParams64, randomTensor64, seeded } from "./support/random";

// Everything here is float64 against loop-by-loop float64 references of the definitions; the only
// difference is summation order, so 1e-12 (vs values of order 1–10) is a safe bound that still catches
// any wrong index or transpose.
const TOL = 1e-12;
const SCALING = 0.75;

function scaled(t: Tensor<Float64Array>, s: number): Tensor<Float64Array> {
  return { data: t.data.map((v) => v * s), shape: t.shape };
}

/** ΔW from the definition (README/FORMAT.md), shaped like the base weight. */
function referenceDelta(layer: LoraLayerShape, a: Tensor<Float64Array>, b: Tensor<Float64Array>) {
  const r = a.shape[0]!;
  const flatA = { data: a.data, shape: [r, a.data.length / r] };
  const ba = naiveMatmul({ data: b.data, shape: [b.shape[0]!, r] }, flatA);
  if (layer.kind === "gpt2_conv1d" || layer.kind === "embedding") return scaled(naiveTranspose(ba), SCALING);
  return {
    data: scaled(ba, SCALING).data,
    shape: [layer.outFeatures, layer.inFeatures, ...layer.kernelSize],
  };
}

describe("LoRA ΔW and forward vs float64 references", () => {
  CASES.forEach((c, i) => {
    it(c.label, () => {
      const rng = seeded(700 + i);
      const params = randomParams64(c, rng);
      const x = randomInput64(c, rng);
      const [a, b] = Object.values(params) as [Tensor<Float64Array>, Tensor<Float64Array>];
      const y = loraForward(x, params, c.layer, SCALING, c.conv);
      if (c.layer.groups > 1) {
        // No ΔW of the base weight's shape; the forward is lora_B(lora_A(x)): a dense conv, then a grouped 1×1.
        expect(() => loraDeltaWeight(params, c.layer, SCALING)).toThrow(LoraError);
        const ones = c.layer.kernelSize.map(() => 1);
        const h = naiveConv(x, a, {
          ...c.conv!,
          padding: c.conv!.padding as number[],
          dilation: ones,
          groups: 1,
        });
        const want = naiveConv(h, b, {
          stride: ones,
          padding: ones.map(() => 0),
          dilation: ones,
          groups: c.layer.groups,
        });
        expect(maxAbsDiff(y.data, scaled(want, SCALING).data)).toBeLessThan(TOL);
        return;
      }
      const delta = loraDeltaWeight(params, c.layer, SCALING);
      const wantDelta = referenceDelta(c.layer, a, b);
      expect(delta.shape).toEqual(wantDelta.shape);
      expect(maxAbsDiff(delta.data, wantDelta.data)).toBeLessThan(TOL);
      let want: Tensor<Float64Array>;
      if (c.layer.kind === "embedding") {
        const d = c.layer.outFeatures;
        const rows = Array.from(x.data).flatMap((id) =>
          Array.from(wantDelta.data.subarray(id * d, id * d + d)),
        );
        want = { data: Float64Array.from(rows), shape: [...x.shape, d] };
      } else if (c.layer.kind === "linear" || c.layer.kind === "gpt2_conv1d") {
        const inF = c.layer.inFeatures;
        const x2 = { data: x.data, shape: [x.data.length / inF, inF] };
        const w = c.layer.kind === "linear" ? naiveTranspose(wantDelta) : wantDelta;
        want = naiveMatmul(x2, w);
      } else {
        // With dilation 1, PEFT's two convs equal one conv with ΔW and the base's geometry.
        const unbatched = x.shape.length === c.layer.kernelSize.length + 1;
        const xb = unbatched ? { data: x.data, shape: [1, ...x.shape] } : x;
        want = naiveConv(xb, wantDelta, { ...c.conv!, padding: c.conv!.padding as number[] | "same" });
      }
      expect(maxAbsDiff(y.data, want.data)).toBeLessThan(TOL);
    });
  });

  it("a dilated conv whose LoRA term has another size throws PEFT's (torch's) shape error", () => {
    const layer: LoraLayerShape = {
      kind: "conv2d",
      outFeatures: 2,
      inFeatures: 2,
      kernelSize: [3, 3],
      groups: 1,
    };
    const rng = seeded(5);
    const params = randomParams64({ label: "", layer, r: 2, inputShape: [] }, rng);
    const conv = {
      stride: [1, 1],
      padding: [0, 0],
      dilation: [2, 2],
      groups: 1,
      paddingMode: "zeros" as const,
    };
    const x = randomTensor64([1, 2, 7, 7], rng);
    expect(() => loraForward(x, params, layer, 1, conv)).toThrow(
      "The size of tensor a (3) must match the size of tensor b (5) at non-singleton dimension 3",
    );
  });
});
