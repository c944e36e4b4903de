import { fileURLToPath } from "node:url";
import { registerLoKr } from "@lycoris-ts/lokr";
import { registerLora } from "@lycoris-ts/lora";
import { AdapterRegistry } from "@lycoris-ts/runtime";
import { describe, expect, it } from "vitest";
import { formatResult, runDirectory } from "../src/run-directory";

const fixtures = fileURLToPath(new URL("../../../fixtures/peft-lora/", import.meta.url));

/**
 * Every PEFT LoRA case through the conformance runner (fixtures/peft-lora/FORMAT.md): config, shapes,
 * ΔW, forward, merged, unmerged, saved keys and config, warnings, errors.json (including the forward and
 * merge stages) and init.json. Tolerance (the runner's): |ours − PEFT| ≤ 1e-5·(1 + |PEFT|) per element,
 * PEFT's suggested bound for an independent float32 implementation in another operation order.
 */
describe("conformance runner on the PEFT LoRA fixtures copied into the repo", () => {
  const registry = new AdapterRegistry();
  registerLora(registry);
  registerLoKr(registry); // errors.json mixes a LoKr adapter into a LoRA model
  const results = runDirectory(fixtures, registry);

  it("ran every case, errors.json and init.json, skipping nothing", () => {
    expect(results.filter((r) => r.name.startsWith("lora-")).length).toBe(29);
    expect(results.filter((r) => r.name.startsWith("errors/")).length).toBe(21);
    expect(results.filter((r) => r.name.startsWith("init/")).length).toBe(6);
    expect(results.filter((r) => r.status === "skip")).toEqual([]);
  });

  for (const r of results) {
    it(r.name, () => {
      expect(r.status, formatResult(r)).toBe("pass");
    });
  }
});
