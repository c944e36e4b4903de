import { describe, expect, it } from "vitest";
import { gatherRows, KernelsError, scatterAddRows, tensor } from "../src/index";

// Exact: gathering copies values and the scatter adds at most two float64 values per entry here.
describe("gatherRows / scatterAddRows (embedding lookup and its table gradient)", () => {
  const table = tensor(
    Float64Array.from({ length: 12 }, (_, i) => i + 0.5),
    [4, 3],
  );
  const ids = tensor(Float64Array.from([2, 0, 2, 3]), [2, 2]);

  it("gathers the indexed rows, shaped [...ids, d]", () => {
    const y = gatherRows(table, ids);
    expect(y.shape).toEqual([2, 2, 3]);
    expect(Array.from(y.data)).toEqual([6.5, 7.5, 8.5, 0.5, 1.5, 2.5, 6.5, 7.5, 8.5, 9.5, 10.5, 11.5]);
  });

  it("adds every row of dy into the row its index names (repeated ids accumulate)", () => {
    const dy = tensor(
      Float64Array.from({ length: 12 }, (_, i) => i),
      [2, 2, 3],
    );
    const g = scatterAddRows(ids, dy, 4);
    expect(g.shape).toEqual([4, 3]);
    expect(Array.from(g.data)).toEqual([3, 4, 5, 0, 0, 0, 0 + 6, 1 + 7, 2 + 8, 9, 10, 11]);
  });

  it("rejects indices that are not integers in range, and a dy of the wrong shape", () => {
    expect(() => gatherRows(table, tensor(Float64Array.from([4]), [1]))).toThrow(KernelsError);
    expect(() => gatherRows(table, tensor(Float64Array.from([1.5]), [1]))).toThrow(KernelsError);
    expect(() => scatterAddRows(ids, tensor(new Float64Array(12), [4, 3]), 4)).toThrow(KernelsError);
  });
});
