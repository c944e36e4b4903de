import { describe, expect, it } from "vitest";
import { compilePythonRegex, LycorisConfigError, translatePythonRegex } from "../src/index";

const full = (p: string) => compilePythonRegex(p, "fullmatch", "targetModules");

describe("Python regex translation (re.fullmatch / re.match semantics)", () => {
  it("anchors fullmatch at both ends and match at the start only", () => {
    expect(full("q_proj").test("model.q_proj")).toBe(false);
    expect(full(".*q_proj").test("model.q_proj")).toBe(true);
    expect(full("a|ab").test("ab")).toBe(true); // fullmatch backtracks into the alternation
    expect(compilePythonRegex("model", "match", "x").test("model.q_proj")).toBe(true);
    expect(compilePythonRegex("q_proj", "match", "x").test("model.q_proj")).toBe(false);
  });

  it("translates named groups, named backreferences, \\A, \\Z and \\z", () => {
    expect(translatePythonRegex("(?P<layer>\\d+)\\.(?P=layer)", "f")).toBe("(?<layer>\\d+)\\.\\k<layer>");
    expect(full("(?P<x>a+)-(?P=x)").test("aa-aa")).toBe(true);
    expect(full("(?P<x>a+)-(?P=x)").test("aa-a")).toBe(false);
    expect(full("\\Amodel\\..*\\Z").test("model.fc")).toBe(true);
    expect(full("model\\z").test("model")).toBe(true);
  });

  it("keeps Python's reading of a leading ] in a class, {,n}, \\a and (?#comments)", () => {
    expect(full("[]a]+").test("]a]")).toBe(true);
    expect(full("[^]]+").test("abc")).toBe(true);
    expect(full("[^]]+").test("a]c")).toBe(false);
    expect(full("a{,2}").test("aa")).toBe(true);
    expect(full("a{,2}").test("aaa")).toBe(false);
    expect(full("a(?#a comment)b").test("ab")).toBe(true);
    expect(full("\\a").test("\x07")).toBe(true);
  });

  it("passes lookarounds, non-capturing groups and backreferences through", () => {
    expect(full("(?:layers)\\.(\\d)\\.\\1").test("layers.3.3")).toBe(true);
    expect(full(".*(?<!k)_proj").test("model.q_proj")).toBe(true);
    expect(full(".*(?<!k)_proj").test("model.k_proj")).toBe(false);
    expect(full("(?=model).*").test("model.x")).toBe(true);
  });

  it.each([
    ["(?i)q_proj", "inline flags"],
    ["(?i:q)_proj", "scoped inline flags"],
    ["a*+", "possessive *+"],
    ["a{1,2}+", "possessive {m,n}+"],
    ["(?>a)", "atomic group"],
    ["(a)?(?(1)b|c)", "conditional"],
    ["\\N{DIGIT ONE}", "named unicode escape"],
    ["\\q", "unknown letter escape (an error in Python too)"],
    ["[a", "unterminated class"],
    ["(a", "unbalanced parenthesis"],
    ["(?<name>a)", "JavaScript-only named group (not Python syntax)"],
  ])("rejects %s (%s) with kind invalid_regex", (pattern) => {
    let caught: unknown;
    try {
      compilePythonRegex(pattern, "fullmatch", "excludeModules");
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(LycorisConfigError);
    expect((caught as LycorisConfigError).kind).toBe("invalid_regex");
    expect((caught as LycorisConfigError).field).toBe("excludeModules");
    expect((caught as LycorisConfigError).received).toBe(pattern);
  });
});
