import {
  describeParameterShapes,
  type ParameterProblem,
  type ParameterShapes,
  type ParameterStructure,
} from "@lycoris-ts/runtime";

/** The factor pair a module holds: `lora_embedding_A` / `_B` for an embedding, else `lora_A.weight` / `lora_B.weight`. */
function factorNames(shapes: ParameterShapes): readonly [a: string, b: string] {
  return shapes.has("lora_embedding_A") || shapes.has("lora_embedding_B")
    ? ["lora_embedding_A", "lora_embedding_B"]
    : ["lora_A.weight", "lora_B.weight"];
}

/**
 * LoRA's structure from parameter shapes: one low-rank factor `B @ A` — `lora_A.weight [r, in, ...kernel]`
 * with `lora_B.weight [out, r / groups, 1, ...]` (linear, GPT-2 `Conv1D`, conv), or `lora_embedding_A
 * [r, num_embeddings]` with `lora_embedding_B [embedding_dim, r]`. The rank is `A`'s first dimension
 * (the kohya loaders divide alpha by `lora_down`'s); a grouped conv's `lora_B` holds `r / groups` of it.
 */
export function loraDescribeParameters(shapes: ParameterShapes): ParameterStructure | ParameterProblem {
  return describeParameterShapes(shapes, (c) => {
    const [aName, bName] = factorNames(shapes);
    const embedding = aName === "lora_embedding_A";
    const a = c.need(aName, embedding ? [2] : [2, 3, 4], `${bName} needs it`);
    const b = c.need(bName, embedding ? [2] : [a.length], `${aName} needs it`);
    const r = a[0]!;
    const groups = b[1]! > 0 && r % b[1]! === 0 && a[1]! % (r / b[1]!) === 0 ? r / b[1]! : 1;
    if (a.length === 2 || groups === 1) c.fit(`ΔW = ${bName} @ ${aName}`, [bName, 1], [aName, 0]);
    const kind = embedding ? "embedding" : a.length === 2 ? "linear" : `conv${a.length - 2}d`;
    return {
      factors: [{ name: "w", form: "lowrank", params: [aName, bName] }],
      rank: r,
      flags: { kind, ...(groups > 1 ? { groups: String(groups) } : {}) },
      summary: `lowrank r=${r} (${kind}${groups > 1 ? `, groups ${groups}` : ""})`,
    };
  });
}
