import { describePackedPackage } from "../../../test-support/packed-package";

describePackedPackage({
  name: "lora",
  endToEnd: `
const { Sequential, Linear, LoraConfig, getPeftModel, createRng, tensor } = lora;
const rng = createRng(1);
const q = new Linear(16, 16);
for (const p of q.parameters()) for (let i = 0; i < p.data.data.length; i++) p.data.data[i] = rng.normal();
const model = new Sequential(q);
const peft = getPeftModel(model, new LoraConfig({ r: 2, loraAlpha: 4, targetModules: ["0"], initLoraWeights: false }));
peft.eval();
const x = tensor(Float32Array.from({ length: 32 }, () => rng.normal()), [2, 16]);
const line = peft.printTrainableParameters(null);
const before = Float32Array.from(peft.forward(x).data);
const after = peft.mergeAndUnload().forward(x).data;
const diff = before.reduce((m, v, i) => Math.max(m, Math.abs(v - after[i])), 0);
console.log(JSON.stringify({ line, diff }));
`,
  // LoRA: r·16 + 16·r = 64 parameters next to the base 16·16 + 16 = 272.
  line: "trainable params: 64 || all params: 336 || trainable%: 19.0476",
  bundleContains: "lora_embedding_A",
  bundleLacks: ["hada_w1_a", "lokrVariant", "lohaVariant", "@lycoris-ts/lokr", "@lycoris-ts/loha"],
});
