import { fileURLToPath } from "node:url";
import { registerLoHa } from "@lycoris-ts/loha";
import { registerLoKr } from "@lycoris-ts/lokr";
import { AdapterRegistry } from "@lycoris-ts/runtime";
import { describe, expect, it } from "vitest";
import { formatResult, runDirectory } from "../src/run-directory";

const fixtures = fileURLToPath(new URL("../../../fixtures/peft/", import.meta.url));

describe("conformance runner on the PEFT fixtures copied into the repo", () => {
  const registry = new AdapterRegistry();
  registerLoKr(registry);
  registerLoHa(registry);
  const results = runDirectory(fixtures, registry);

  it("ran every case, errors.json, init.json and factorization.json", () => {
    expect(results.some((r) => r.name.startsWith("errors/"))).toBe(true);
    expect(results.some((r) => r.name.startsWith("init/"))).toBe(true);
    expect(results.some((r) => r.name === "factorization")).toBe(true);
    expect(results.filter((r) => r.status === "skip")).toEqual([]);
  });

  for (const r of results) {
    it(r.name, () => {
      expect(r.status, formatResult(r)).toBe("pass");
    });
  }
});
