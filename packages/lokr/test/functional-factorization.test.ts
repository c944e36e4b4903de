import { describe, expect, it } from "vitest";
import { factorization, LoKrError } from "../src/functional";
import { readJson } from "./support/functional-fixtures";

interface FactorizationJson {
  columns: string[];
  rows: [number, number, number, number][];
}

describe("factorization (exact integers, no tolerance)", () => {
  const table = readJson<FactorizationJson>("factorization.json");

  it("reads the fixture columns it expects", () => {
    expect(table.columns).toEqual(["dimension", "factor", "m", "n"]);
    expect(table.rows.length).toBeGreaterThan(0);
  });

  it("equals PEFT on every row of factorization.json", () => {
    const mismatches: string[] = [];
    for (const [d, f, m, n] of table.rows) {
      const got = factorization(d, f);
      if (got[0] !== m || got[1] !== n) mismatches.push(`(${d}, ${f}) -> [${got}] expected [${m}, ${n}]`);
    }
    expect(mismatches).toEqual([]);
  });

  it("keeps PEFT's unsorted result when the factor divides and exceeds the square root", () => {
    const [m, n] = factorization(128, 64);
    expect(m * n).toBe(128);
    expect(m).toBeGreaterThan(n);
  });

  it("defaults to the most balanced split and rejects non-positive dimensions", () => {
    expect(factorization(4096)).toEqual(factorization(4096, -1));
    expect(() => factorization(0)).toThrow(LoKrError);
    expect(() => factorization(0)).toThrow(
      expect.objectContaining({ kind: "invalid_argument", field: "dimension", received: "0" }),
    );
    expect(() => factorization(12, 1.5)).toThrow(
      expect.objectContaining({ kind: "invalid_argument", field: "decompose_factor", received: "1.5" }),
    );
  });
});
