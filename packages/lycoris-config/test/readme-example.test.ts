import { readFileSync } from "node:fs";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import * as api from "../src/index";

/** The README must open with an example that runs and prints what its comments say. */
describe("README example", () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";

  it("is the first thing in the README and at most 10 lines", () => {
    expect(readme.indexOf("```ts")).toBeLessThan(readme.indexOf("\n\n") + 3);
    expect(block.trim().split("\n").length).toBeLessThanOrEqual(10);
  });

  it("runs against the package and prints what its comments promise", () => {
    const importLine = /^import \* as (\w+) from "@lycoris-ts\/lycoris-config";\n/m.exec(block);
    expect(importLine).not.toBeNull();
    const namespace = importLine?.[1] ?? "";
    const body = block.replace(importLine?.[0] ?? "", "");
    const printed: string[] = [];
    const fakeConsole = { log: (v: unknown) => printed.push(typeof v === "string" ? v : inspect(v)) };
    new Function("console", namespace, body)(fakeConsole, api);
    const promised = [...body.matchAll(/console\.log\(.*\); \/\/ (\[.*?\])(?: |$)/gm)].map((m) => m[1]);
    expect(promised.length).toBeGreaterThan(0);
    for (const [i, text] of promised.entries()) expect(printed[i]?.replace(/\s+/g, " ")).toBe(text);
    expect(JSON.parse(printed.at(-1) ?? "")).toMatchObject({ peft_type: "LOKR", r: 4 });
  });
});
