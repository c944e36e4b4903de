import { describePackedPackage } from "../../../test-support/packed-package";

describePackedPackage({
  name: "lokr",
  endToEnd: `
const { Sequential, Linear, LoKrConfig, getPeftModel, createRng, tensor } = lokr;
const rng = createRng(1);
const q = new Linear(16, 16);
for (const p of q.parameters()) for (let i = 0; i < p.data.data.length; i++) p.data.data[i] = rng.normal();
const model = new Sequential(q);
const peft = getPeftModel(model, new LoKrConfig({ r: 2, alpha: 4, targetModules: ["0"], initWeights: false }));
peft.eval();
const x = tensor(Float32Array.from({ length: 32 }, () => rng.normal()), [2, 16]);
const line = peft.printTrainableParameters(null);
const before = Float32Array.from(peft.forward(x).data);
const after = peft.mergeAndUnload().forward(x).data;
const diff = before.reduce((m, v, i) => Math.max(m, Math.abs(v - after[i])), 0);
console.log(JSON.stringify({ line, diff }));
`,
  line: "trainable params: 32 || all params: 304 || trainable%: 10.5263",
  bundleContains: "lokr_w1",
  bundleLacks: ["hada_w1_a", "@lycoris-ts/loha", "LoHaConfig", "lohaVariant"],
});
