import { describe, expect, it } from "vitest";
import { PythonFloat, pythonJsonDumps } from "../src/python-json";
import { pythonFloatRepr, pythonRepr, pythonSetRepr, pythonStrRepr } from "../src/python-repr";

describe("Python float repr (what json.dumps writes for floats)", () => {
  it.each([
    [0, "0.0"],
    [-0, "-0.0"],
    [0.3, "0.3"],
    [2, "2.0"],
    [-2.5, "-2.5"],
    [0.0001, "0.0001"],
    [0.00001, "1e-05"],
    [1.5e-7, "1.5e-07"],
    [1e15, "1000000000000000.0"],
    [1e16, "1e+16"],
    [1.5e300, "1.5e+300"],
    [1 / 3, "0.3333333333333333"],
  ])("%s → %s", (x, want) => {
    expect(pythonFloatRepr(x)).toBe(want);
  });
});

describe("Python json.dumps(indent=2, sort_keys=True)", () => {
  it("sorts keys at every level, indents by two, prints empties compactly, ints and floats like Python", () => {
    const text = pythonJsonDumps({ b: [1, 2], a: { z: new PythonFloat(0), y: {} }, c: [], d: null, e: true });
    expect(text).toBe(
      '{\n  "a": {\n    "y": {},\n    "z": 0.0\n  },\n  "b": [\n    1,\n    2\n  ],\n  "c": [],\n  "d": null,\n  "e": true\n}',
    );
  });

  it("escapes like ensure_ascii=True (non-ASCII and DEL as lowercase \\u escapes)", () => {
    expect(pythonJsonDumps('é"\\\n\x7f😀')).toBe('"\\u00e9\\"\\\\\\n\\u007f\\ud83d\\ude00"');
  });
});

describe("Python repr in messages", () => {
  it("prints strings, lists and sets like Python", () => {
    expect(pythonStrRepr("q_proj")).toBe("'q_proj'");
    expect(pythonStrRepr("it's")).toBe('"it\'s"');
    expect(pythonRepr([0, 2])).toBe("[0, 2]");
    expect(pythonRepr(["layers"])).toBe("['layers']");
    expect(pythonSetRepr(["qkv"])).toBe("{'qkv'}");
    expect(pythonSetRepr([])).toBe("set()");
  });
});
