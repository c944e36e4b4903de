import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../../test-support/fixtures";

/** The README opens with an example that runs (against the built package) as written. */
describe("README example", () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";

  it("is the first thing in the README and at most a dozen lines", () => {
    expect(readme.indexOf("```ts")).toBeLessThan(readme.indexOf("\n\n") + 3);
    expect(block.trim().split("\n").length).toBeLessThanOrEqual(12);
  });

  it("runs in a fresh directory: writes, reads back, reads tensor by tensor from a Blob", () => {
    const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));
    const dir = tempDir("readme");
    writeFileSync(join(dir, "readme.mjs"), block.replace('"@lycoris-ts/safetensors"', JSON.stringify(dist)));
    const out = execFileSync(process.execPath, ["readme.mjs"], { cwd: dir, encoding: "utf8" });
    expect(out).toContain("{ data: Float32Array(4) [ 1, 2, 3, 4 ], shape: [ 2, 2 ] } { format: 'pt' }");
    expect(out).toContain("w BF16 { data: Float32Array(4) [ 1, 2, 3, 4 ], shape: [ 2, 2 ] }");
    expect(readFileSync(join(dir, "w.safetensors")).length).toBeGreaterThan(8);
  });
});
