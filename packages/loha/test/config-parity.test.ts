import { describe, expect, it } from "vitest";
import { initLoHaParams } from "../src/functional/index";
import { createRng, LoHaConfig, LycorisConfigError, lohaVariant } from "../src/index";

describe("LoHaConfig option keys", () => {
  it("rejects an unknown key naming it (PEFT's constructor raises TypeError), e.g. a LoKr option", () => {
    let error: unknown;
    try {
      new LoHaConfig({ decomposeBoth: true } as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LycorisConfigError);
    expect((error as LycorisConfigError).kind).toBe("unknown_option");
    expect((error as LycorisConfigError).message).toMatch(/`decomposeBoth`.*LoHaConfig/);
  });

  it("createConfig (options of an adapter_config.json) ignores unknown keys with PEFT's warning", () => {
    const config = lohaVariant.createConfig({ r: 4, useEffectiveConv2d: true, newKey: 1 });
    expect([config.r, config.useEffectiveConv2d]).toEqual([4, true]);
    expect(config.warnings).toEqual([
      expect.stringMatching(
        /^Unexpected keyword arguments \['new_key'\] for class LoHaConfig, these are ignored\./,
      ),
    ]);
  });

  it("prints a wrong useEffectiveConv2d value as itself", () => {
    expect(() => new LoHaConfig({ useEffectiveConv2d: Number.NaN as never })).toThrow(/got NaN/);
  });
});

describe("initLoHaParams error message", () => {
  it.each([
    [Number.NaN, "NaN"],
    [undefined, "undefined"],
  ])("prints init_weights %s as itself", (value, printed) => {
    const layer = { kind: "linear", outFeatures: 4, inFeatures: 4, kernelSize: [] } as const;
    expect(() =>
      initLoHaParams(layer, { r: 2, useEffectiveConv2d: false }, value as never, createRng(1)),
    ).toThrow(`unknown LoHa init_weights ${printed}`);
  });
});
