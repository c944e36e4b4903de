import { readFileSync } from "node:fs";
import * as errors from "@lycoris-ts/errors";
import * as kernels from "@lycoris-ts/kernels";
import * as loha from "@lycoris-ts/loha";
import * as lokr from "@lycoris-ts/lokr";
import * as lora from "@lycoris-ts/lora";
import * as config from "@lycoris-ts/lycoris-config";
import * as runtime from "@lycoris-ts/runtime";
import * as safetensors from "@lycoris-ts/safetensors";
import { describe, expect, it } from "vitest";

// The variant packages re-export a documented list of shared names (not `export *` of the runtime):
// the list in each index.ts is exactly the README's table, and every such name is the shared object itself.
const shared: Record<string, unknown> = { ...errors, ...kernels, ...config, ...runtime, ...safetensors };

function readmeNames(pkg: string): string[] {
  const readme = readFileSync(new URL(`../../../packages/${pkg}/README.md`, import.meta.url), "utf8");
  const section = readme.split("## Runtime names re-exported here")[1] ?? "";
  const rows = section.split("\n").filter((l) => /^\| [a-z]/.test(l) && !l.startsWith("| for |"));
  const names = rows.flatMap((row) => {
    const cells = row.split("|");
    const list = (cells[2] ?? "").replace(/\(and .*\)/, "");
    return [...list.matchAll(/`(\w+)`/g)].map((m) => m[1]!);
  });
  return names.sort();
}

function indexNames(pkg: string): string[] {
  const index = readFileSync(new URL(`../../../packages/${pkg}/src/index.ts`, import.meta.url), "utf8");
  const names: string[] = [];
  for (const m of index.matchAll(/export (?:type )?\{([^}]*)\} from "@lycoris-ts\/[\w-]+";/g)) {
    names.push(
      ...m[1]!
        .split(",")
        .map((n) => n.trim())
        .filter((n) => n !== ""),
    );
  }
  return names.sort();
}

describe.each([
  ["lokr", lokr],
  ["loha", loha],
  ["lora", lora],
] as const)("@lycoris-ts/%s public surface", (pkg, mod) => {
  it("re-exports no shared module wholesale", () => {
    const index = readFileSync(new URL(`../../../packages/${pkg}/src/index.ts`, import.meta.url), "utf8");
    expect(index).not.toMatch(/export \* from "@lycoris-ts\//);
  });

  it("re-exports exactly the shared names its README lists", () => {
    expect(indexNames(pkg)).toEqual(readmeNames(pkg));
  });

  it("re-exports the shared objects themselves (getPeftModel means one thing everywhere)", () => {
    const values = indexNames(pkg).filter((n) => n in shared);
    expect(values.length).toBeGreaterThan(30);
    for (const name of values) expect((mod as Record<string, unknown>)[name], name).toBe(shared[name]);
    expect(mod.getPeftModel).toBe(runtime.getPeftModel);
  });
});
