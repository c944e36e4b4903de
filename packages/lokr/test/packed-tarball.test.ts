import { describePackedPackage } from "../../../test-support/packed-package";

describePackedPackage({
  name: "lokr",
  configClass: "LoKrConfig",
  configOptions: '{ r: 2, alpha: 4, targetModules: ["0"], initWeights: false }',
  line: "trainable params: 32 || all params: 304 || trainable%: 10.5263",
  bundleContains: "lokr_w1",
  bundleLacks: ["hada_w1_a", "@lycoris-ts/loha", "LoHaConfig", "lohaVariant"],
});
