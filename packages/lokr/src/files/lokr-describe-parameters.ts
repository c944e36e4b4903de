import {
  describeParameterShapes,
  type FactorForm,
  type ParameterProblem,
  type ParameterShapeCheck,
  type ParameterShapes,
  type ParameterStructure,
} from "@lycoris-ts/runtime";

function readW1(c: ParameterShapeCheck): { form: FactorForm; params: string[]; rank: number | null } {
  if (c.optional("lokr_w1", [2]) !== undefined) return { form: "full", params: ["lokr_w1"], rank: null };
  c.need("lokr_w1_a", [2], "no lokr_w1");
  const b = c.need("lokr_w1_b", [2], "lokr_w1_a needs it");
  c.fit("W1 = lokr_w1_a @ lokr_w1_b", ["lokr_w1_a", 1], ["lokr_w1_b", 0]);
  return { form: "lowrank", params: ["lokr_w1_a", "lokr_w1_b"], rank: b[0]! };
}

function readW2(c: ParameterShapeCheck): { form: FactorForm; params: string[]; rank: number | null } {
  if (c.optional("lokr_w2", [2, 3, 4]) !== undefined)
    return { form: "full", params: ["lokr_w2"], rank: null };
  c.need("lokr_w2_a", [2], "no lokr_w2");
  const b = c.need("lokr_w2_b", [2], "lokr_w2_a needs it");
  if (c.optional("lokr_t2", [3, 4]) !== undefined) {
    c.fit("Tucker W2", ["lokr_t2", 0], ["lokr_w2_a", 0]);
    c.fit("Tucker W2", ["lokr_t2", 1], ["lokr_w2_b", 0]);
    return { form: "tucker", params: ["lokr_w2_a", "lokr_w2_b", "lokr_t2"], rank: b[0]! };
  }
  c.fit("W2 = lokr_w2_a @ lokr_w2_b", ["lokr_w2_a", 1], ["lokr_w2_b", 0]);
  return { form: "lowrank", params: ["lokr_w2_a", "lokr_w2_b"], rank: b[0]! };
}

/**
 * LoKr's structure from parameter shapes: `w1` full (`lokr_w1`) or low rank (`lokr_w1_a @ lokr_w1_b`),
 * `w2` full, low rank or Tucker (`lokr_t2` with `lokr_w2_a`, `lokr_w2_b`). The rank is the kohya
 * loaders': `lokr_w2_b`'s, else `lokr_w1_b`'s, `null` when both factors are full.
 */
export function lokrDescribeParameters(shapes: ParameterShapes): ParameterStructure | ParameterProblem {
  return describeParameterShapes(shapes, (c) => {
    const w1 = readW1(c);
    const w2 = readW2(c);
    return {
      factors: [
        { name: "w1", form: w1.form, params: w1.params },
        { name: "w2", form: w2.form, params: w2.params },
      ],
      rank: w2.rank ?? w1.rank,
      flags: { w1: w1.form, w2: w2.form },
      summary: `w1 ${w1.form}, w2 ${w2.form}`,
    };
  });
}
