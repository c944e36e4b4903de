import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { registerLoHa } from "@lycoris-ts/loha";
import { registerLoKr } from "@lycoris-ts/lokr";
import { LycorisConfig } from "@lycoris-ts/lycoris-config";
import { AdapterRegistry } from "@lycoris-ts/runtime";
import { afterAll, describe, expect, it } from "vitest";
import { Mismatch } from "../src/compare";
import { expectWarnings } from "../src/compare-warnings";
import { runCase } from "../src/run-case";

const PEFT_WARNING =
  "Setting `save_embedding_layers` to `True` as embedding layers found in `target_modules`.";
/** A warning of the documented list, as the config builds it. */
const DOCUMENTED = new LycorisConfig("LOKR", { rankDropout: 1.5 }).warnings[0]!;

function mismatchOf(run: () => void): string {
  try {
    run();
  } catch (error) {
    if (error instanceof Mismatch) return error.message;
    throw error;
  }
  return "";
}

describe("warnings rule: every PEFT warning appears; extras only from the documented list", () => {
  it("identical warnings pass", () => {
    expect(mismatchOf(() => expectWarnings("warnings (save)", [PEFT_WARNING], [PEFT_WARNING]))).toBe("");
  });

  it("a missing PEFT warning fails, naming it", () => {
    const m = mismatchOf(() => expectWarnings("warnings (save)", [], [PEFT_WARNING]));
    expect(m).toMatch(/^warnings \(save\): missing PEFT warning/);
    expect(m).toContain(PEFT_WARNING);
  });

  it("a PEFT warning PEFT emits twice must appear twice", () => {
    expect(mismatchOf(() => expectWarnings("w", [PEFT_WARNING], [PEFT_WARNING, PEFT_WARNING]))).toMatch(
      /missing PEFT warning/,
    );
  });

  it("an undocumented extra warning fails, naming it", () => {
    const m = mismatchOf(() =>
      expectWarnings("warnings (create)", [PEFT_WARNING, "something new"], [PEFT_WARNING]),
    );
    expect(m).toMatch(/^warnings \(create\): extra warning not in the documented list/);
    expect(m).toContain("something new");
  });

  it("a documented extra warning passes, beside PEFT's", () => {
    expect(mismatchOf(() => expectWarnings("w", [DOCUMENTED, PEFT_WARNING], [PEFT_WARNING]))).toBe("");
  });
});

describe("the runner applies the rule to a whole case", () => {
  const fixtures = fileURLToPath(new URL("../../../fixtures/peft/", import.meta.url));
  const registry = new AdapterRegistry();
  registerLoKr(registry);
  registerLoHa(registry);
  const tmp: string[] = [];
  afterAll(() => {
    for (const d of tmp) rmSync(d, { recursive: true, force: true });
  });

  /** A copy of a fixture case with its case.json / expected.json edited. */
  interface EditableCase {
    adapters: { config: Record<string, unknown> }[];
  }
  interface EditableExpected {
    warnings?: { category: string; message: string; phase: string }[];
  }
  function editedCase(name: string, edit: (c: EditableCase, e: EditableExpected) => void): string {
    const dir = mkdtempSync(join(tmpdir(), "lycoris-warn-case-"));
    tmp.push(dir);
    cpSync(join(fixtures, name), dir, { recursive: true });
    const c = JSON.parse(readFileSync(join(dir, "case.json"), "utf8"));
    const e = JSON.parse(readFileSync(join(dir, "expected.json"), "utf8"));
    edit(c, e);
    writeFileSync(join(dir, "case.json"), JSON.stringify(c));
    writeFileSync(join(dir, "expected.json"), JSON.stringify(e));
    return dir;
  }

  it("passes a case where we add a documented warning PEFT does not emit (rank_dropout 1.5, eval only)", () => {
    const dir = editedCase("lokr-linear-full", (c) => {
      c.adapters[0]!.config.rank_dropout = 1.5;
    });
    // the adapter PEFT would have saved from that config (the runner also compares the saved config)
    const savedConfig = join(dir, "adapter", "adapter_config.json");
    const saved = JSON.parse(readFileSync(savedConfig, "utf8"));
    writeFileSync(savedConfig, JSON.stringify({ ...saved, rank_dropout: 1.5 }));
    const r = runCase(dir, registry);
    expect(r.status, r.detail).toBe("pass");
  });

  it("fails a case where PEFT emitted a warning we do not", () => {
    const dir = editedCase("lokr-linear-full", (_c, e) => {
      e.warnings = [{ category: "UserWarning", message: "PEFT said this", phase: "create" }];
    });
    const r = runCase(dir, registry);
    expect(r.status).toBe("fail");
    expect(r.detail).toMatch(/missing PEFT warning.*PEFT said this/);
  });
});
