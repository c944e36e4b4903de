import {
  describeParameterShapes,
  type ParameterProblem,
  type ParameterShapes,
  type ParameterStructure,
} from "@lycoris-ts/runtime";

/**
 * LoHa's structure from parameter shapes: two low-rank factors `hada_w{1,2}_a @ hada_w{1,2}_b`, or
 * with Tucker cores `hada_t1`, `hada_t2` ("effective conv") two Tucker factors; both factors give ΔW
 * the same shape. The rank is `hada_w1_b`'s first dimension (the kohya loaders' rule).
 */
export function lohaDescribeParameters(shapes: ParameterShapes): ParameterStructure | ParameterProblem {
  return describeParameterShapes(shapes, (c) => {
    const tucker = c.has("hada_t1") || c.has("hada_t2");
    for (const i of [1, 2] as const) {
      const [a, b, t] = [`hada_w${i}_a`, `hada_w${i}_b`, `hada_t${i}`];
      c.need(a, [2], "LoHa needs four factors");
      c.need(b, [2], "LoHa needs four factors");
      if (tucker) {
        c.need(t, [3, 4], "Tucker LoHa needs both cores");
        c.fit(`Tucker factor ${i}`, [t, 0], [a, 0]);
        c.fit(`Tucker factor ${i}`, [t, 1], [b, 0]);
      } else {
        c.fit(`factor ${i}`, [a, 1], [b, 0]);
      }
    }
    const outAxis = tucker ? 1 : 0;
    c.fit("both Hadamard factors", ["hada_w1_a", outAxis], ["hada_w2_a", outAxis]);
    c.fit("both Hadamard factors", ["hada_w1_b", 1], ["hada_w2_b", 1]);
    const form = tucker ? "tucker" : "lowrank";
    const params = (i: number) => [`hada_w${i}_a`, `hada_w${i}_b`, ...(tucker ? [`hada_t${i}`] : [])];
    return {
      factors: [
        { name: "w1", form, params: params(1) },
        { name: "w2", form, params: params(2) },
      ],
      rank: c.need("hada_w1_b", [2], "LoHa needs four factors")[0]!,
      flags: { effective_conv: tucker },
      summary: tucker ? "hadamard, tucker (effective conv)" : "hadamard, low-rank",
    };
  });
}
