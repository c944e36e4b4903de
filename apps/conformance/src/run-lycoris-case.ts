import {
  type LycorisModule,
  lycorisDeltaWeight,
  mergeLycorisModule,
  readLycorisAdapter,
} from "@lycoris-ts/lycoris-format";
import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { expectClose, expectEqual, Mismatch } from "./compare";
import { applyLayer, type LycorisCaseEntry, loadLycorisCase, strengthText } from "./lycoris-fixture-case";
import type { CaseResult } from "./run-case";

/**
 * Runs one kohya / LyCORIS-format case (fixtures/lycoris/FORMAT.md): reads the adapter file against the
 * model's module names and compares key resolution, per-module algo / rank / alpha / scale / DoRA, ΔW at
 * every recorded strength, the merged weight, the adapter output and the merged layer's output.
 */
export function runLycorisCase(root: string, entry: LycorisCaseEntry, registry: AdapterRegistry): CaseResult {
  const name = `lycoris/${entry.name}`;
  let worst = 0;
  try {
    const c = loadLycorisCase(root, entry);
    const algos = new Set(Object.values(c.expected.modules).map((m) => m.algo.toUpperCase()));
    const missing = [...algos].filter((a) => registry.find(a) === undefined);
    if (missing.length > 0)
      return { name, status: "skip", detail: `no registered variant for ${missing.join(", ")}`, worst };
    const adapter = readLycorisAdapter(c.adapterBytes, {
      moduleNames: c.modelModules.map((m) => m.name),
      registry,
    });
    expectEqual("prefixes", adapter.prefixes, c.expected.prefixes);
    const sorted = (o: Record<string, string>) => Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1));
    expectEqual(
      "key_map",
      sorted(Object.fromEntries(adapter.modules.map((m) => [m.fileKey, m.moduleName]))),
      sorted(c.expected.key_map),
    );
    const byName = new Map<string, LycorisModule>(adapter.modules.map((m) => [m.moduleName, m]));
    for (const mod of c.expected.targeted_modules) {
      const exp = c.expected.modules[mod]!;
      const m = byName.get(mod);
      if (m === undefined) throw new Mismatch(`${mod}: not read from the file`);
      expectEqual(`${mod}.algo`, m.algo, exp.algo.toUpperCase());
      expectEqual(`${mod}.rank`, m.rank, exp.rank);
      if (
        exp.alpha === null
          ? m.alpha !== null
          : Math.abs((m.alpha ?? Number.NaN) - exp.alpha) > 1e-6 * Math.abs(exp.alpha)
      ) {
        throw new Mismatch(`${mod}.alpha: ours ${m.alpha}, expected ${exp.alpha}`);
      }
      if (Math.abs(m.scale - exp.scale) > 1e-12 * Math.abs(exp.scale)) {
        throw new Mismatch(`${mod}.scale: ours ${m.scale}, expected ${exp.scale}`);
      }
      expectEqual(`${mod}.dora`, m.doraScale !== null, exp.dora !== null);
      const w0 = c.base.get(`${mod}.weight`)!;
      const bias = c.base.get(`${mod}.bias`) ?? null;
      const layer = c.modelModules.find((mm) => mm.name === mod)!;
      for (const s of c.expected.strengths) {
        const want = c.tensors.get(`delta/${strengthText(s)}/${mod}`);
        if (want !== undefined)
          worst = Math.max(worst, expectClose(`delta/${s}/${mod}`, lycorisDeltaWeight(m, w0, s), want));
      }
      const merged = mergeLycorisModule(m, w0);
      worst = Math.max(
        worst,
        expectClose(`merged/${mod}.weight`, merged, c.tensors.get(`merged/${mod}.weight`)),
      );
      const x = c.inputs.get(mod)!;
      const adapterOut = c.tensors.get(`adapter_out/${mod}`);
      if (adapterOut !== undefined) {
        const ours = applyLayer(layer, x, lycorisDeltaWeight(m, w0, 1), null);
        worst = Math.max(worst, expectClose(`adapter_out/${mod}`, ours, adapterOut));
      }
      const mergedForward = c.tensors.get(`merged_forward/${mod}`);
      if (mergedForward !== undefined) {
        worst = Math.max(
          worst,
          expectClose(`merged_forward/${mod}`, applyLayer(layer, x, merged, bias), mergedForward),
        );
      }
    }
    return { name, status: "pass", detail: "", worst };
  } catch (error) {
    const message = error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error);
    return { name, status: "fail", detail: message, worst: error instanceof Mismatch ? error.worst : worst };
  }
}
