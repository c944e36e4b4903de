import { fileURLToPath } from "node:url";
import { registerLoHa } from "@lycoris-ts/loha";
import { registerLoKr } from "@lycoris-ts/lokr";
import { registerLora } from "@lycoris-ts/lora";
import { AdapterRegistry } from "@lycoris-ts/runtime";
import { describe, expect, it } from "vitest";
import { formatResult, runDirectory } from "../src/run-directory";

const fixtures = fileURLToPath(new URL("../../../fixtures/peft-lora-conversion/", import.meta.url));

// Tolerances are the runner's (run-conversion-case.ts): FORMAT.md's 1e-4·(1 + |PEFT|) for B·A against PEFT's
// float32 SVD, 1e-5 against PEFT's LoRA forward and against our own float64 SVD of conv ΔWs.
describe("conformance runner on PEFT's convert_to_lora fixtures copied into the repo", () => {
  const registry = new AdapterRegistry();
  registerLoKr(registry);
  registerLoHa(registry);
  registerLora(registry);
  const results = runDirectory(fixtures, registry);

  it("ran every case: conversions, refusals, and conv conversions beyond PEFT", () => {
    expect(results.length).toBe(41);
    expect(results.filter((r) => r.status === "skip")).toEqual([]);
    expect(results.some((r) => /\d+ conversions/.test(r.detail) && !r.detail.startsWith("0 "))).toBe(true);
    expect(results.some((r) => /beyond PEFT/.test(r.detail))).toBe(true);
  });

  for (const r of results) {
    it(r.name, () => {
      expect(r.status, formatResult(r)).toBe("pass");
    });
  }
});
