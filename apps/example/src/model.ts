import { Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential } from "@lycoris-ts/runtime";

/** Number of outputs of the head (both tasks are 5-way). */
export const NUM_CLASSES = 5;

/** The layers the adapters target: both convolutions and both linear layers (the head included). */
export const TARGET_MODULES: readonly string[] = ["conv1", "conv2", "fc1", "fc2"];

/** A short description of the architecture; part of the base-weights cache key. */
export const BASE_ARCHITECTURE =
  "conv1(1,8,3,p1)-relu-maxpool2-conv2(8,16,3,p1)-relu-maxpool2-flatten-fc1(144,32)-relu-fc2(32,5)@14x14";

/**
 * The base CNN for `[N, 1, 14, 14]` images: two 3×3 convolutions with ReLU and
 * 2×2 max pooling, then two linear layers; outputs `[N, 5]` logits. Weights
 * start at zero: initialise with `initModuleParameters` or load a state dict.
 */
export function createBaseModel(): Sequential {
  const net = new Sequential();
  net.registerModule("conv1", new Conv2d(1, 8, 3, { padding: 1 }));
  net.registerModule("relu1", new ReLU());
  net.registerModule("pool1", new MaxPool2d(2));
  net.registerModule("conv2", new Conv2d(8, 16, 3, { padding: 1 }));
  net.registerModule("relu2", new ReLU());
  net.registerModule("pool2", new MaxPool2d(2));
  net.registerModule("flatten", new Flatten());
  net.registerModule("fc1", new Linear(16 * 3 * 3, 32));
  net.registerModule("relu3", new ReLU());
  net.registerModule("fc2", new Linear(32, NUM_CLASSES));
  return net;
}
