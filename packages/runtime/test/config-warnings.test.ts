import { describe, expect, it } from "vitest";
import {
  AdapterRegistry,
  buildModelFromDescription,
  Container,
  Linear,
  ModelError,
  PeftModel,
} from "../src/index";
import { OuterConfig, outerVariant } from "./support/outer-variant";

const registry = new AdapterRegistry();
registry.register(outerVariant);

describe("warnings a config carries reach onWarning when its adapter is created", () => {
  it("a negative alpha (PEFT accepts it silently) is reported once per adapter, before selection warnings", () => {
    const seen: string[] = [];
    const config = new OuterConfig({ targetModules: ".*fc", alpha: -2, layersToTransform: [0] });
    const peft = new PeftModel(new Container({ fc: new Linear(3, 3) }), config, "default", {
      registry,
      onWarning: (m) => seen.push(m),
    });
    expect(seen).toEqual([
      expect.stringMatching(/^alpha=-2 is negative/),
      expect.stringMatching(/^layers_to_transform=\[0\] is ignored/),
    ]);
    peft.addAdapter("second", config);
    expect(seen).toHaveLength(4);
    expect(peft.warnings).toEqual(seen);
  });
});

describe("model description errors print the received value as itself", () => {
  it.each([
    [Number.NaN, "NaN"],
    [Number.POSITIVE_INFINITY, "Infinity"],
  ])("in_features %s", (value, printed) => {
    let error: unknown;
    try {
      buildModelFromDescription({
        modules: [{ name: "fc", kind: "linear", in_features: value, out_features: 2 }],
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ModelError);
    expect((error as ModelError).message).toMatch(new RegExp(`got ${printed}$`));
    expect((error as ModelError).received).toBe(printed);
  });
});
