import { describe, expect, it } from "vitest";
import {
  configFromFileOptions,
  findPeftSilentWarning,
  LycorisConfig,
  LycorisConfigError,
  type LycorisConfigOptions,
  PEFT_SILENT_WARNINGS,
  parseModelDescription,
} from "../src/index";

/** A variant config that names its own options, as LoKrConfig / LoHaConfig do. */
class StrictConfig extends LycorisConfig {
  readonly extra: boolean;
  constructor(o: LycorisConfigOptions & { extra?: boolean } = {}) {
    super("STRICT", o, ["extra"]);
    this.extra = o.extra ?? false;
  }
}

function caught(run: () => unknown): LycorisConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof LycorisConfigError) return error;
    throw error;
  }
  throw new Error("expected a LycorisConfigError");
}

describe("values PEFT accepts silently: accepted, with a documented warning", () => {
  it.each([
    ["rankDropout", 1.5, /^rank_dropout=1\.5 is outside \[0, 1\] and acts like 1: /],
    ["rankDropout", -0.25, /^rank_dropout=-0\.25 is outside \[0, 1\] and acts like 0: /],
    ["moduleDropout", 2, /^module_dropout=2 is outside \[0, 1\] and acts like 1: /],
    ["moduleDropout", -1, /^module_dropout=-1 is outside \[0, 1\] and acts like 0: /],
    ["alpha", -4, /^alpha=-4 is negative: /],
  ])("%s = %s", (field, value, message) => {
    const c = new LycorisConfig("LOKR", { [field]: value });
    expect((c as unknown as Record<string, unknown>)[field]).toBe(value);
    expect(c.warnings).toHaveLength(1);
    expect(c.warnings[0]).toMatch(message);
    expect(findPeftSilentWarning(c.warnings[0]!)).toBeDefined();
  });

  it("a negative alpha_pattern value warns naming its key", () => {
    const c = new LycorisConfig("LOKR", { alphaPattern: { q_proj: -2, v_proj: 4 } });
    expect(c.alphaPattern).toEqual({ q_proj: -2, v_proj: 4 });
    expect(c.warnings).toEqual([expect.stringMatching(/^alpha_pattern\['q_proj'\]=-2 is negative: /)]);
  });

  it("values inside PEFT's meaning (0, 1, 0.5, alpha 0) do not warn", () => {
    for (const o of [
      { rankDropout: 0, moduleDropout: 1 },
      { rankDropout: 1, moduleDropout: 0.5 },
      { alpha: 0 },
    ]) {
      expect(new LycorisConfig("LOKR", o).warnings).toEqual([]);
    }
  });

  it("warnings are not written to adapter_config.json (not an own enumerable field)", () => {
    const c = new LycorisConfig("LOKR", { alpha: -1 });
    expect(Object.keys(c)).not.toContain("warnings");
  });
});

describe("unknown option keys", () => {
  it("a variant config that names its options rejects an unknown key, naming it (PEFT: TypeError)", () => {
    const error = caught(() => new StrictConfig({ rr: 4 } as LycorisConfigOptions));
    expect(error.kind).toBe("unknown_option");
    expect(error.field).toBe("rr");
    expect(error.message).toMatch(/`rr`/);
    expect(error.message).toMatch(/StrictConfig/);
  });

  it("names every unknown key, and accepts its own and the shared ones", () => {
    const error = caught(() => new StrictConfig({ a: 1, b: 2, r: 4, extra: true } as LycorisConfigOptions));
    expect(error.received).toEqual(["a", "b"]);
    expect(error.message).toMatch(/`a`, `b`/);
    expect(new StrictConfig({ r: 4, extra: true, alphaPattern: {} }).extra).toBe(true);
  });

  it("an unknown key whose value is undefined counts as absent", () => {
    expect(new StrictConfig({ typo: undefined } as LycorisConfigOptions).r).toBe(8);
  });

  it("loading file options ignores unknown keys with PEFT's forward-compatibility warning", () => {
    const c = configFromFileOptions((o) => new StrictConfig(o), {
      r: 4,
      futureOption: 1,
      anotherNewKey: "x",
      alpha: -2,
    });
    expect(c.r).toBe(4);
    expect(c.warnings[0]).toBe(
      "Unexpected keyword arguments ['another_new_key', 'future_option'] for class StrictConfig, these are ignored. This probably means that you're loading a configuration file that was saved using a higher version of the library and additional parameters have been introduced since. It is highly recommended to upgrade the PEFT version before continuing (e.g. by running `pip install -U peft`).",
    );
    expect(c.warnings[1]).toMatch(/^alpha=-2 is negative/);
    expect(Object.keys(c)).not.toContain("futureOption");
  });

  it("loading file options still raises every other error", () => {
    expect(
      caught(() => configFromFileOptions((o) => new StrictConfig(o), { futureOption: 1, r: "4" })).kind,
    ).toBe("invalid_value");
  });
});

describe("error messages print the received value as itself", () => {
  it.each([
    [Number.NaN, "NaN"],
    [Number.POSITIVE_INFINITY, "Infinity"],
    [Number.NEGATIVE_INFINITY, "-Infinity"],
  ])("alpha = %s", (value, printed) => {
    const error = caught(() => new LycorisConfig("LOKR", { alpha: value }));
    expect(error.message).toBe(`Invalid value for \`alpha\`: expected a finite number, got ${printed}.`);
  });

  it("bigint, undefined inside a pattern, -0 inside a list", () => {
    expect(
      caught(() => new LycorisConfig("LOKR", { r: 8n } as unknown as LycorisConfigOptions)).message,
    ).toMatch(/got 8n\.$/);
    expect(
      caught(
        () => new LycorisConfig("LOKR", { rankPattern: { q: undefined } } as unknown as LycorisConfigOptions),
      ).message,
    ).toMatch(/got undefined\.$/);
    expect(
      caught(() => new LycorisConfig("LOKR", { layersToTransform: [-0, 0.5] } as LycorisConfigOptions))
        .message,
    ).toMatch(/got \[-0, 0\.5\]\.$/);
  });

  it("model description errors print the value too", () => {
    expect(caught(() => parseModelDescription({ modules: Number.NaN })).message).toMatch(/got NaN\.$/);
  });
});

describe("the documented list of warnings PEFT does not emit", () => {
  it("has unique ids, and every entry's pattern matches only its own messages", () => {
    const ids = PEFT_SILENT_WARNINGS.map((w) => w.id);
    expect(new Set(ids).size).toBe(ids.length);
    const samples = [
      new LycorisConfig("LOKR", { rankDropout: 2 }).warnings[0]!,
      new LycorisConfig("LOKR", { alpha: -1 }).warnings[0]!,
    ];
    for (const s of samples) {
      expect(PEFT_SILENT_WARNINGS.filter((w) => w.pattern.test(s))).toHaveLength(1);
    }
    expect(findPeftSilentWarning("Setting `save_embedding_layers` to `True`")).toBeUndefined();
  });
});
