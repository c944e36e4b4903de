import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { registerLoHa } from "@lycoris-ts/loha";
import { registerLoKr } from "@lycoris-ts/lokr";
import type { LycorisConfig } from "@lycoris-ts/lycoris-config";
import {
  AdapterRegistry,
  type AdapterVariant,
  geometryFromWeightShape,
  type LayerGeometry,
} from "@lycoris-ts/runtime";
import { describe, expect, it } from "vitest";
import { type CaseJson, type ExpectedJson, exists, readJson } from "../src/fixture-files";
import { configFromKwargs } from "../src/run-case";

// The file hooks of every registered variant (describeParameters, layerCandidates, kohya) against the
// shapes, structure, rank and weight shapes PEFT recorded for every fixture module. Shapes and ranks are
// integers: exact comparisons, no tolerance.

const fixtures = fileURLToPath(new URL("../../../fixtures/peft/", import.meta.url));
const registry = new AdapterRegistry();
registerLoKr(registry);
registerLoHa(registry);

interface FixtureModule {
  readonly module: string;
  readonly variant: AdapterVariant<LycorisConfig>;
  readonly config: LycorisConfig;
  readonly r: number;
  readonly alpha: number;
  readonly shapes: ReadonlyMap<string, readonly number[]>;
  readonly structure: Readonly<Record<string, unknown>>;
  readonly layer: LayerGeometry;
}

/** Every (adapter, module) of every PEFT fixture case, grouped by `case/adapter`. */
function fixtureAdapters(): Map<string, FixtureModule[]> {
  const out = new Map<string, FixtureModule[]>();
  for (const name of readdirSync(fixtures).sort()) {
    const dir = join(fixtures, name);
    if (!exists(join(dir, "case.json")) || !exists(join(dir, "expected.json"))) continue;
    const c = readJson<CaseJson>(join(dir, "case.json"));
    const expected = readJson<ExpectedJson>(join(dir, "expected.json"));
    for (const a of c.adapters) {
      const config = configFromKwargs(registry, a.peft_type, a.config);
      const modules: FixtureModule[] = [];
      for (const [module, m] of Object.entries(expected.modules)) {
        const e = m.adapters[a.name];
        if (e === undefined) continue;
        modules.push({
          module,
          variant: registry.get(e.peft_type),
          config,
          r: e.r,
          alpha: e.alpha,
          shapes: new Map(Object.entries(e.params)),
          structure: e.structure ?? {},
          layer: geometryFromWeightShape(m.weight_shape)!,
        });
      }
      if (modules.length > 0) out.set(`${name}/${a.name}`, modules);
    }
  }
  return out;
}

const sameShapes = (layout: ReadonlyArray<readonly [string, readonly number[]]>, m: FixtureModule) =>
  layout.length === m.shapes.size &&
  layout.every(([n, s]) => JSON.stringify(s) === JSON.stringify(m.shapes.get(n)));

const adapters = fixtureAdapters();

describe("variant file hooks on every PEFT fixture module", () => {
  it("covers LoKr and LoHa modules of every fixture case", () => {
    const types = new Set([...adapters.values()].flat().map((m) => m.variant.peftType));
    expect([...types].sort()).toEqual([...registry.peftTypes()].sort());
    expect(adapters.size).toBeGreaterThan(30);
  });

  for (const [label, modules] of adapters) {
    it(`${label}: describeParameters gives PEFT's structure and the factors' rank`, () => {
      for (const m of modules) {
        const d = m.variant.describeParameters!(m.shapes);
        if (!d.ok) throw new Error(`${m.module}: ${d.message}`);
        for (const [k, v] of Object.entries(d.flags)) expect(v, `${m.module}.${k}`).toEqual(m.structure[k]);
        const decomposed = d.factors.some((f) => f.form !== "full");
        expect(d.rank, m.module).toBe(decomposed ? m.r : null);
        expect(d.factors.flatMap((f) => f.params).sort()).toEqual([...m.shapes.keys()].sort());
      }
    });

    it(`${label}: layerCandidates include the base weight, whose parameterLayout is exactly the factors`, () => {
      for (const m of modules) {
        const candidates = m.variant.layerCandidates!(m.shapes);
        const hit = candidates.find(
          (g) => JSON.stringify(g.weightShape) === JSON.stringify(m.layer.weightShape),
        );
        expect(hit, `${m.module}: ${JSON.stringify(m.layer.weightShape)}`).toBeDefined();
        const ctx = { config: m.config, r: m.r, alpha: m.alpha, layer: hit! };
        expect(sameShapes(m.variant.parameterLayout(ctx).params, m), m.module).toBe(true);
      }
    });

    it(`${label}: kohya.peftOptions reproduce the layout; fullFactorRank is the smallest r of full factors`, () => {
      const variant = modules[0]!.variant;
      const kohya = variant.kohya!;
      const candidates = kohya.peftOptions(modules.map((m) => ({ shapes: m.shapes, layer: m.layer })));
      const fits = candidates.find((options) =>
        modules.every((m) => {
          const config = variant.createConfig({ ...options, r: m.r, alpha: m.alpha });
          return sameShapes(
            variant.parameterLayout({ config, r: m.r, alpha: m.alpha, layer: m.layer }).params,
            m,
          );
        }),
      );
      expect(fits, label).toBeDefined();
      for (const m of modules.filter((x) => variant.describeParameters!(x.shapes).ok && !hasRank(x))) {
        const r = kohya.fullFactorRank?.(m.shapes, m.layer, fits!) ?? 1;
        const config = variant.createConfig({ ...fits!, r });
        const full = (rank: number) =>
          variant
            .parameterLayout({ config, r: rank, alpha: rank, layer: m.layer })
            .params.every(([n]) => m.shapes.has(n));
        expect(full(r), m.module).toBe(true);
        if (r > 1) expect(full(r - 1), m.module).toBe(false);
      }
    });
  }
});

function hasRank(m: FixtureModule): boolean {
  const d = m.variant.describeParameters!(m.shapes);
  return d.ok && d.rank !== null;
}
