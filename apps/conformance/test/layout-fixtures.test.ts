import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { registerLoHa } from "@lycoris-ts/loha";
import { registerLoKr } from "@lycoris-ts/lokr";
import { registerLora } from "@lycoris-ts/lora";
import { AdapterRegistry } from "@lycoris-ts/runtime";
import { afterAll, describe, expect, it } from "vitest";
import { formatResult, runDirectory } from "../src/run-directory";

const root = fileURLToPath(new URL("../../../fixtures/lycoris-layouts/", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "lycoris-layout-runner-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function registry(): AdapterRegistry {
  const r = new AdapterRegistry();
  registerLoKr(r);
  registerLoHa(r);
  registerLora(r);
  return r;
}

/**
 * Every key-layout case through the conformance runner: key maps, not-loaded and not-applied keys
 * exactly; merged weights at 1.0 and 0.5 within FORMAT.md's |a − e| ≤ 1e-5·max|e| + 1e-6 (ComfyUI's
 * float32 against our float32 factors with float64 DoRA norms).
 */
describe("conformance runner on the key-layout fixtures", () => {
  const results = runDirectory(root, registry());
  const cases = (JSON.parse(readFileSync(join(root, "index.json"), "utf8")) as { cases: { name: string }[] })
    .cases;

  it("ran every case of index.json", () => {
    expect(results.map((r) => r.name).sort()).toEqual(cases.map((c) => `lycoris-layouts/${c.name}`).sort());
  });

  for (const r of results) {
    it(r.name, () => {
      expect(r.status, formatResult(r)).toBe("pass");
    });
  }

  it("fails a case whose not-loaded list or merged weights differ, naming what", () => {
    const dir = join(tmp, "set");
    cpSync(join(root, "sd15-kohya-lokr"), join(dir, "sd15-kohya-lokr"), { recursive: true });
    const path = join(dir, "sd15-kohya-lokr", "expected.json");
    const e = JSON.parse(readFileSync(path, "utf8")) as { not_loaded: string[] };
    writeFileSync(path, JSON.stringify({ ...e, not_loaded: e.not_loaded.slice(1) }));
    const [r] = runDirectory(dir, registry());
    expect(r?.status).toBe("fail");
    expect(r?.detail).toMatch(/^not_loaded: /);
  });
});
