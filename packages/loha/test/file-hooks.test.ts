import { describe, expect, it } from "vitest";
import { lohaVariant } from "../src/index";

// Shapes are integers: exact comparisons. The hooks on every PEFT fixture module are checked in
// apps/conformance/test/variant-file-hooks.test.ts; these are the cases fixtures do not hold.
const describeShapes = (shapes: Record<string, number[]>) =>
  lohaVariant.describeParameters!(new Map(Object.entries(shapes)));

describe("LoHa describeParameters: what is missing or does not fit", () => {
  it("needs four factors, and both cores once one is there", () => {
    const a = describeShapes({ hada_w1_a: [4, 2], hada_w1_b: [2, 4], hada_w2_a: [4, 2] });
    expect(a).toMatchObject({ ok: false, kind: "missing_parameter" });
    expect(!a.ok && a.message).toContain("'hada_w2_b'");
    const tucker = { hada_w1_a: [2, 4], hada_w1_b: [2, 3], hada_w2_a: [2, 4], hada_w2_b: [2, 3] };
    const b = describeShapes({ ...tucker, hada_t1: [2, 2, 3, 3] });
    expect(b).toMatchObject({ ok: false, kind: "missing_parameter" });
    expect(!b.ok && b.message).toContain("'hada_t2'");
    const c = describeShapes({ ...tucker, hada_t1: [2, 2, 3, 3], hada_t2: [2, 2, 3, 3] });
    expect(c).toMatchObject({ ok: true, rank: 2, flags: { effective_conv: true } });
  });

  it("both Hadamard factors must give ΔW the same shape", () => {
    const d = describeShapes({ hada_w1_a: [4, 2], hada_w1_b: [2, 4], hada_w2_a: [5, 2], hada_w2_b: [2, 4] });
    expect(d).toMatchObject({ ok: false, kind: "shape_mismatch" });
    expect(!d.ok && d.message).toContain("hada_w1_a [4, 2] and hada_w2_a [5, 2]");
  });

  it("layerCandidates: a Conv1d core (r, r, k, 1) also fits a conv1d kernel [k]", () => {
    const shapes = new Map([
      ["hada_w1_a", [2, 4]],
      ["hada_w1_b", [2, 3]],
      ["hada_t1", [2, 2, 5, 1]],
    ]);
    expect(lohaVariant.layerCandidates!(shapes).map((g) => g.weightShape)).toEqual([
      [4, 3, 5, 1],
      [4, 3, 5],
    ]);
  });
});
