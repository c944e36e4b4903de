import { describe, expect, it } from "vitest";
import { expectEqual, Mismatch } from "../src/compare";

describe("expectEqual", () => {
  it("passes equal JSON values", () => {
    expect(() => expectEqual("x", { a: [1, "b"] }, { a: [1, "b"] })).not.toThrow();
  });

  it.each([
    [Number.NaN, "NaN"],
    [Number.POSITIVE_INFINITY, "Infinity"],
    [undefined, "undefined"],
  ])("tells %s from null and prints it as itself", (ours, printed) => {
    let error: unknown;
    try {
      expectEqual("alpha", [ours], [null]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Mismatch);
    expect((error as Mismatch).message).toBe(`alpha: ours [${printed}], expected [null]`);
  });

  it("tells -0 from 0", () => {
    expect(() => expectEqual("r", -0, 0)).toThrow("r: ours -0, expected 0");
  });
});
