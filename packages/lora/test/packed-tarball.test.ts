import { describePackedPackage } from "../../../test-support/packed-package";

describePackedPackage({
  name: "lora",
  configClass: "LoraConfig",
  configOptions: '{ r: 2, loraAlpha: 4, targetModules: ["0"], initLoraWeights: false }',
  // LoRA: r·16 + 16·r = 64 parameters next to the base 16·16 + 16 = 272.
  line: "trainable params: 64 || all params: 336 || trainable%: 19.0476",
  bundleContains: "lora_embedding_A",
  bundleLacks: ["hada_w1_a", "lokrVariant", "lohaVariant", "@lycoris-ts/lokr", "@lycoris-ts/loha"],
});
