import { execFileSync } from "node:child_process";
import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { PEFT } from "./support/fixtures";

const pkg = fileURLToPath(new URL("../", import.meta.url));
const work = join(pkg, "test-results", "readme");
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("README", () => {
  it("the first example runs as written (on a fixture adapter and its base model)", () => {
    const readme = readFileSync(join(pkg, "README.md"), "utf8");
    const example = /```js\n([\s\S]*?)```/.exec(readme)![1]!;
    mkdirSync(work, { recursive: true });
    cpSync(join(PEFT, "lokr-mixed-kinds", "adapter"), join(work, "my-adapter"), { recursive: true });
    copyFileSync(join(PEFT, "lokr-mixed-kinds", "base.safetensors"), join(work, "model.safetensors"));
    // inside the package, so that "@lycoris-ts/adapter-files" resolves to its own build (dist)
    const script = join(work, "example.mjs");
    writeFileSync(script, example);
    const out = execFileSync(process.execPath, [script], { cwd: work, encoding: "utf8" });
    expect(out).toContain("valid");
    expect(out).toMatch(/^4 weights merged$/m);
  });
});
