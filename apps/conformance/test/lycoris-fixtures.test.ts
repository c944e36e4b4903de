import { fileURLToPath } from "node:url";
import { registerLoHa } from "@lycoris-ts/loha";
import { registerLoKr } from "@lycoris-ts/lokr";
import {
  type LycorisModule,
  lycorisDeltaWeight,
  mergeLycorisModule,
  readLycorisAdapter,
} from "@lycoris-ts/lycoris-format";
import { AdapterRegistry } from "@lycoris-ts/runtime";
import { describe, expect, it } from "vitest";
import {
  applyLayer,
  loadLycorisCase,
  lycorisCaseEntries,
  strengthText,
  worstRelative,
} from "../src/lycoris-fixture-case";

const root = fileURLToPath(new URL("../../../fixtures/lycoris/", import.meta.url));

/**
 * Tolerance of every numeric check: |ours − expected| ≤ TOL·(1 + |expected|) per element. The
 * expected values are float32 torch results; ours are float32 products (float64 for the DoRA
 * norms) in another operation order, which differ by a few float32 ulps of values of order 1
 * (≈1e-7), two orders of magnitude below TOL. DoRA needs no looser bound: the norms are sums of
 * at most a few hundred squares.
 */
const TOL = 1e-5;

const registry = new AdapterRegistry();
registerLoKr(registry);
registerLoHa(registry);

for (const entry of lycorisCaseEntries(root)) {
  describe(`lycoris fixture ${entry.name}`, () => {
    const c = loadLycorisCase(root, entry);
    const moduleNames = c.modelModules.map((m) => m.name);
    const adapter = readLycorisAdapter(c.adapterBytes, { moduleNames, registry });
    const byName = new Map<string, LycorisModule>(adapter.modules.map((m) => [m.moduleName, m]));

    it("resolves prefixes and keys as expected.json says", () => {
      expect(adapter.prefixes).toEqual(c.expected.prefixes);
      expect(Object.fromEntries(adapter.modules.map((m) => [m.fileKey, m.moduleName]))).toEqual(
        c.expected.key_map,
      );
      expect(adapter.metadata).toEqual(c.expected.metadata);
    });

    for (const name of c.expected.targeted_modules) {
      const exp = c.expected.modules[name]!;
      it(`${name}: algo, rank, alpha, scale, DoRA`, () => {
        const m = byName.get(name)!;
        expect(m.algo).toBe(exp.algo.toUpperCase());
        expect(m.rank).toBe(exp.rank);
        if (exp.alpha === null) expect(m.alpha).toBeNull();
        else expect(m.alpha).toBeCloseTo(exp.alpha, 5);
        // scale = alpha / rank in float64 vs Python's float64: equal to 1e-12 relative
        expect(Math.abs(m.scale - exp.scale)).toBeLessThanOrEqual(1e-12 * Math.abs(exp.scale));
        expect(m.doraScale === null).toBe(exp.dora === null);
      });

      it(`${name}: delta at every strength, merged weight and outputs within ${TOL}·(1+|e|)`, () => {
        const m = byName.get(name)!;
        const w0 = c.base.get(`${name}.weight`)!;
        const bias = c.base.get(`${name}.bias`) ?? null;
        const layer = c.modelModules.find((mm) => mm.name === name)!;
        let checked = 0;
        for (const s of c.expected.strengths) {
          const want = c.tensors.get(`delta/${strengthText(s)}/${name}`);
          if (want === undefined) continue;
          expect(worstRelative(lycorisDeltaWeight(m, w0, s), want), `delta/${s}`).toBeLessThanOrEqual(TOL);
          checked++;
        }
        expect(checked).toBeGreaterThan(0);
        const merged = mergeLycorisModule(m, w0);
        expect(worstRelative(merged, c.tensors.get(`merged/${name}.weight`)!), "merged").toBeLessThanOrEqual(
          TOL,
        );
        const x = c.inputs.get(name)!;
        const adapterOut = c.tensors.get(`adapter_out/${name}`);
        if (adapterOut !== undefined) {
          const ours = applyLayer(layer, x, lycorisDeltaWeight(m, w0, 1), null);
          expect(worstRelative(ours, adapterOut), "adapter_out").toBeLessThanOrEqual(TOL);
        }
        const mergedForward = c.tensors.get(`merged_forward/${name}`);
        if (mergedForward !== undefined) {
          expect(
            worstRelative(applyLayer(layer, x, merged, bias), mergedForward),
            "merged_forward",
          ).toBeLessThanOrEqual(TOL);
        }
      });
    }
  });
}
