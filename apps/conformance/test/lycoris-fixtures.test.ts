import { fileURLToPath } from "node:url";
import { registerLoHa } from "@lycoris-ts/loha";
import { registerLoKr } from "@lycoris-ts/lokr";
import { AdapterRegistry } from "@lycoris-ts/runtime";
import { describe, expect, it } from "vitest";
import { formatResult, runDirectory } from "../src/run-directory";

const root = fileURLToPath(new URL("../../../fixtures/lycoris/", import.meta.url));

/**
 * Every kohya / LyCORIS-format case through the conformance runner. Tolerance (the runner's):
 * |ours − expected| ≤ 1e-5·(1 + |expected|) per element; the expected values are float32 torch results,
 * ours float32 products (float64 DoRA norms) in another order: a few float32 ulps apart.
 */
describe("conformance runner on the LyCORIS-format fixtures", () => {
  const registry = new AdapterRegistry();
  registerLoKr(registry);
  registerLoHa(registry);
  const results = runDirectory(root, registry);

  it("ran every case of index.json and skipped LyCORIS' own factorization table", () => {
    expect(results.filter((r) => r.name.startsWith("lycoris/")).length).toBe(19);
    expect(results.filter((r) => r.status === "skip").map((r) => r.name)).toEqual(["factorization"]);
  });

  for (const r of results.filter((x) => x.status !== "skip")) {
    it(r.name, () => {
      expect(r.status, formatResult(r)).toBe("pass");
    });
  }
});
