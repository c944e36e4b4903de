import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { unsupportedFixtureSet } from "../src/unsupported-fixture-set";

const fixtures = fileURLToPath(new URL("../../../fixtures/", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "lycoris-fixture-set-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function set(name: string, files: readonly string[]): string {
  const dir = join(tmp, name);
  mkdirSync(join(dir, "case-a"), { recursive: true });
  for (const f of files) writeFileSync(join(dir, "case-a", f), "");
  return dir;
}

describe("fixture sets the runner does not run yet are named, not failed case by case", () => {
  it("knows the PEFT, PEFT LoRA, LyCORIS and convert_to_lora sets", () => {
    for (const s of ["peft", "peft-lora", "lycoris", "peft-lora-conversion"])
      expect(unsupportedFixtureSet(join(fixtures, s))).toBeNull();
  });

  it("names a key-layout set", () => {
    expect(unsupportedFixtureSet(join(fixtures, "lycoris-layouts"))).toMatch(/key-layout/);
    expect(unsupportedFixtureSet(set("layouts", ["base.safetensors", "adapter.safetensors"]))).toMatch(
      /key-layout/,
    );
    expect(unsupportedFixtureSet(set("lycoris-like", ["adapter.safetensors", "model.json"]))).toBeNull();
  });
});
