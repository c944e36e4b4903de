import { readdirSync, readFileSync, statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildModelFromDescription, type ModuleDescription } from "../src/model/index";
import { readF32Safetensors } from "./support/model-st";

const FIXTURES = new URL("../../../fixtures/peft/", import.meta.url);
const cases = readdirSync(FIXTURES).filter((d) => statSync(new URL(d, FIXTURES)).isDirectory());

interface ModelJson {
  modules: ModuleDescription[];
  parameters: { name: string; shape: number[] }[];
  num_parameters: number;
}

function load(name: string) {
  const dir = new URL(`${name}/`, FIXTURES);
  const desc = JSON.parse(readFileSync(new URL("model.json", dir), "utf8")) as ModelJson;
  const base = readF32Safetensors(new URL("base.safetensors", dir));
  return { dir, desc, base };
}

describe("buildModelFromDescription on every PEFT fixture", () => {
  it("finds the fixture cases", () => {
    expect(cases.length).toBeGreaterThan(10);
  });

  it.each(cases)("%s: tree, state dict keys/shapes and base forward", (name) => {
    const { dir, desc, base } = load(name);
    const model = buildModelFromDescription(desc, base).eval();

    // The tree is exactly the description: same names, same order, same kinds.
    const mods = [...model.namedModules()].slice(1).map(([n, m]) => [n, m.kind]);
    expect(mods).toEqual(desc.modules.map((m) => [m.name, m.kind]));

    // stateDict keys and shapes equal model.json's parameters, in order (exact).
    const sd = [...model.stateDict()].map(([k, t]) => ({ name: k, shape: [...t.shape] }));
    expect(sd).toEqual(desc.parameters);
    const count = [...model.parameters()].reduce((a, p) => a + p.data.data.length, 0);
    expect(count).toBe(desc.num_parameters);
    // The weights loaded are the file's values (bit-exact copy).
    for (const [k, t] of model.stateDict()) expect(t.data).toEqual(base.get(k)!.data);

    // Each adapted module's base forward equals PEFT's `base_forward/<m>`.
    // Tolerance 1e-5·(1+|expected|) per element: float32 with a different
    // summation order than torch (the conformance tolerance of the project).
    const inputs = readF32Safetensors(new URL("inputs.safetensors", dir));
    const expected = readF32Safetensors(new URL("expected.safetensors", dir));
    expect(inputs.size).toBeGreaterThan(0);
    for (const [m, x] of inputs) {
      const want = expected.get(`base_forward/${m}`);
      expect(want, `base_forward/${m}`).toBeDefined();
      const y = model.getSubmodule(m).forward(x);
      expect(y.shape).toEqual(want!.shape);
      let worst = 0;
      for (let i = 0; i < y.data.length; i++) {
        const e = want!.data[i]!;
        worst = Math.max(worst, Math.abs(y.data[i]! - e) / (1 + Math.abs(e)));
      }
      expect(worst, `${name} ${m}`).toBeLessThanOrEqual(1e-5);
    }
  });
});
