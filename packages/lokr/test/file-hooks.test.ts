import { describe, expect, it } from "vitest";
import { lokrVariant } from "../src/index";

// Shapes are integers: exact comparisons. The hooks on every PEFT fixture module are checked in
// apps/conformance/test/variant-file-hooks.test.ts; these are the cases fixtures do not hold.
const describeShapes = (shapes: Record<string, number[]>) =>
  lokrVariant.describeParameters!(new Map(Object.entries(shapes)));

describe("LoKr describeParameters: what is missing or does not fit", () => {
  it("names the missing half of a low-rank pair, or the missing w2", () => {
    const a = describeShapes({ lokr_w1_a: [2, 1], lokr_w2: [2, 2] });
    expect(a).toMatchObject({ ok: false, kind: "missing_parameter" });
    expect(!a.ok && a.message).toContain("'lokr_w1_b'");
    const b = describeShapes({ lokr_w1: [2, 2] });
    expect(b).toMatchObject({ ok: false, kind: "missing_parameter" });
    expect(!b.ok && b.message).toContain("'lokr_w2_a'");
  });

  it("factors whose inner dimensions differ, and tensors of the wrong rank", () => {
    const a = describeShapes({ lokr_w1_a: [2, 3], lokr_w1_b: [2, 2], lokr_w2: [2, 2] });
    expect(a).toMatchObject({ ok: false, kind: "shape_mismatch" });
    expect(!a.ok && a.message).toContain("lokr_w1_a [2, 3] and lokr_w1_b [2, 2]");
    const b = describeShapes({ lokr_w1: [2, 2, 1], lokr_w2: [2, 2] });
    expect(b).toMatchObject({ ok: false, kind: "shape_mismatch" });
  });

  it("the loaders' rank: lokr_w2_b's, else lokr_w1_b's, none when both factors are full", () => {
    const r = (s: Record<string, number[]>) => {
      const d = describeShapes(s);
      return d.ok ? d.rank : "problem";
    };
    expect(r({ lokr_w1_a: [2, 4], lokr_w1_b: [4, 2], lokr_w2_a: [2, 3], lokr_w2_b: [3, 2] })).toBe(3);
    expect(r({ lokr_w1_a: [2, 4], lokr_w1_b: [4, 2], lokr_w2: [2, 2] })).toBe(4);
    expect(r({ lokr_w1: [2, 2], lokr_w2: [2, 2] })).toBeNull();
  });

  it("layerCandidates: none without w1, every kernel split of a folded w2_b", () => {
    expect(lokrVariant.layerCandidates!(new Map([["lokr_w2", [2, 2]]]))).toEqual([]);
    const folded = lokrVariant.layerCandidates!(
      new Map([
        ["lokr_w1", [2, 2]],
        ["lokr_w2_a", [3, 1]],
        ["lokr_w2_b", [1, 12]],
      ]),
    ).map((g) => g.weightShape);
    // out = 2·3; in·kernel = 2·12 with in a multiple of 2
    expect(folded).toContainEqual([6, 24]);
    expect(folded).toContainEqual([6, 8, 3]);
    expect(folded).toContainEqual([6, 4, 2, 3]);
    expect(folded).not.toContainEqual([6, 3, 8]);
  });
});
