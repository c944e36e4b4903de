import { describe, expect, it } from "vitest";
import { describeValue, isLycorisError, LycorisError } from "../src/index";

class DemoError extends LycorisError {
  override readonly name = "DemoError";
}

describe("LycorisError", () => {
  it("carries kind, message and the details given, and is caught as the family", () => {
    const e = new DemoError("invalid_value", "rank: expected a positive integer, got -1", {
      field: "r",
      expected: "a positive integer",
      received: -1,
      path: "/tmp/a",
    });
    expect(e).toBeInstanceOf(Error);
    expect(isLycorisError(e)).toBe(true);
    expect(e.name).toBe("DemoError");
    expect(e.kind).toBe("invalid_value");
    expect(e.field).toBe("r");
    expect(e.expected).toBe("a positive integer");
    expect(e.received).toBe(-1);
    expect(e.path).toBe("/tmp/a");
    expect(e.module).toBeUndefined();
    expect(isLycorisError(new Error("x"))).toBe(false);
  });

  it("recognises the family across copies of the package, subclasses by prototype", () => {
    const foreign = Object.assign(new Error("x"), {});
    Object.defineProperty(foreign, Symbol.for("@lycoris-ts/errors.LycorisError"), { value: true });
    expect(foreign instanceof LycorisError).toBe(true);
    expect(new LycorisError("k", "m") instanceof DemoError).toBe(false);
    expect(new DemoError("k", "m") instanceof DemoError).toBe(true);
  });

  it("keeps the cause", () => {
    const cause = new Error("inner");
    expect(new LycorisError("io", "outer", { cause }).cause).toBe(cause);
  });
});

describe("describeValue", () => {
  it("prints numbers as themselves, not as JSON's null", () => {
    expect(describeValue(Number.NaN)).toBe("NaN");
    expect(describeValue(Number.POSITIVE_INFINITY)).toBe("Infinity");
    expect(describeValue(-0)).toBe("-0");
    expect(describeValue(10n)).toBe("10n");
    expect(describeValue(undefined)).toBe("undefined");
    expect(describeValue([1, Number.NaN])).toBe("[1, NaN]");
    expect(describeValue({ a: "x" })).toBe('{"a": "x"}');
  });

  it("survives hostile values: deep nesting and huge arrays", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(describeValue(deep)).toBe("[[[[[…]]]]]");
    expect(describeValue(new Array(1_000_000).fill(0)).length).toBeLessThanOrEqual(200);
  });
});
