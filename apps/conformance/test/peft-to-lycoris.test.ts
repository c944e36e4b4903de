import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Tensor } from "@lycoris-ts/kernels";
import { registerLoHa } from "@lycoris-ts/loha";
import { registerLoKr } from "@lycoris-ts/lokr";
import { parseAdapterConfigJson, resolveRankAndAlpha } from "@lycoris-ts/lycoris-config";
import {
  LycorisFormatError,
  lycorisDeltaWeight,
  lycorisLayerGeometry,
  lycorisToPeft,
  peftToLycoris,
  readLycorisAdapter,
} from "@lycoris-ts/lycoris-format";
import { AdapterRegistry, PEFT_KEY_PREFIX, readPeftAdapterDir } from "@lycoris-ts/runtime";
import { parseSafetensors, readSafetensorsSync, serializeSafetensors } from "@lycoris-ts/safetensors";
import { describe, expect, it } from "vitest";
import { loadLycorisCase, lycorisCaseEntries, worstRelative } from "../src/lycoris-fixture-case";

const peftRoot = fileURLToPath(new URL("../../../fixtures/peft/", import.meta.url));
const lycorisRoot = fileURLToPath(new URL("../../../fixtures/lycoris/", import.meta.url));

/**
 * Relative bound |a − e| ≤ TOL·(1 + |e|): the fixtures' deltas are float32 torch results; ours
 * rebuild the same factors in float32 in another order, and the written alpha is rounded to
 * float32 (one ulp of the scale) — a few ulps in all. A wrong scale, layout or rank rule is off
 * by far more than 1e-5.
 */
const TOL = 1e-5;

const registry = new AdapterRegistry();
registerLoKr(registry);
registerLoHa(registry);

interface PeftExpected {
  readonly adapters: readonly string[];
  readonly modules_to_save: readonly string[];
  readonly modules: Record<
    string,
    { readonly weight_shape: number[]; readonly adapters: Record<string, unknown> }
  >;
}

/** PEFT's ΔW of `module` (scaling alpha / r) from a parsed adapter config and its saved weights. */
function peftDelta(
  configJson: Readonly<Record<string, unknown>>,
  weights: ReadonlyMap<string, Tensor<Float32Array>>,
  module: string,
  weightShape: readonly number[],
): Tensor<Float32Array> {
  const parsed = parseAdapterConfigJson({ ...configJson });
  const variant = registry.get(parsed.peftType);
  const config = variant.createConfig(parsed.options);
  const prefix = `${PEFT_KEY_PREFIX}${module}.`;
  const params: Record<string, Tensor<Float32Array>> = {};
  for (const [k, t] of weights)
    if (k.startsWith(prefix) && !k.slice(prefix.length).includes(".")) params[k.slice(prefix.length)] = t;
  const { r, alpha } = resolveRankAndAlpha(config, module);
  return variant.deltaWeight(
    params,
    { config, r, alpha, layer: lycorisLayerGeometry(weightShape) },
    alpha / r,
  );
}

const peftCases = (
  JSON.parse(readFileSync(join(peftRoot, "index.json"), "utf8")) as { cases: { name: string }[] }
).cases;

describe("PEFT → LyCORIS on every PEFT fixture adapter", () => {
  for (const { name } of peftCases) {
    const dir = join(peftRoot, name);
    const expected = JSON.parse(readFileSync(join(dir, "expected.json"), "utf8")) as PeftExpected;
    const moduleNames = (
      JSON.parse(readFileSync(join(dir, "model.json"), "utf8")) as { modules: { name: string }[] }
    ).modules.map((m) => m.name);
    const shapeOf = (m: string) => expected.modules[m]?.weight_shape;

    if (expected.modules_to_save.length > 0) {
      it(`${name}: refuses modules_to_save copies with a typed error naming them`, async () => {
        for (const a of await readPeftAdapterDir(join(dir, "adapter"))) {
          let error: unknown;
          try {
            peftToLycoris(a, { registry, weightShape: shapeOf });
          } catch (e) {
            error = e;
          }
          expect(error).toBeInstanceOf(LycorisFormatError);
          expect((error as LycorisFormatError).kind).toBe("not_convertible");
          for (const s of expected.modules_to_save) expect((error as Error).message).toContain(s);
        }
      });
      continue;
    }

    it(`${name}: every adapter's LyCORIS file gives PEFT's delta/<a>/<m> (loader rules) within ${TOL}·(1+|e|), also back through lycorisToPeft`, async () => {
      const deltas = readSafetensorsSync(join(dir, "expected.safetensors")).tensors;
      const adapters = await readPeftAdapterDir(join(dir, "adapter"));
      expect(adapters.map((a) => a.name).sort()).toEqual([...expected.adapters].sort());
      for (const a of adapters) {
        const written = peftToLycoris(a, { registry, weightShape: shapeOf });
        const bytes = serializeSafetensors(written.tensors, { metadata: written.metadata });
        const file = parseSafetensors(bytes);
        expect(file.metadata?.ss_network_module).toBe("lycoris.kohya");
        const read = readLycorisAdapter(bytes, { moduleNames, registry });
        const adapted = Object.keys(expected.modules).filter((m) => expected.modules[m]!.adapters[a.name]);
        expect(read.modules.map((m) => m.moduleName).sort(), a.name).toEqual(adapted.sort());
        for (const m of read.modules) {
          const want = deltas.get(`delta/${a.name}/${m.moduleName}`)!;
          const got = lycorisDeltaWeight(m, want.shape);
          expect(worstRelative(got, want), `${a.name} ${m.moduleName}`).toBeLessThanOrEqual(TOL);
        }
        const back = lycorisToPeft(read, { weightShape: shapeOf });
        expect(back.ok, back.ok ? "" : back.reason).toBe(true);
        if (!back.ok) continue;
        const backJson = JSON.parse(back.configJson) as Record<string, unknown>;
        for (const m of read.modules) {
          const want = deltas.get(`delta/${a.name}/${m.moduleName}`)!;
          const got = peftDelta(backJson, back.weights, m.moduleName, want.shape);
          expect(worstRelative(got, want), `back: ${a.name} ${m.moduleName}`).toBeLessThanOrEqual(TOL);
        }
      }
    });
  }
});

describe("PEFT → LyCORIS on the LyCORIS fixtures' peft/ twins", () => {
  for (const entry of lycorisCaseEntries(lycorisRoot)) {
    if (entry.peft_conversion !== "converted") continue;
    it(`${entry.name}: the twin written as LyCORIS gives the original file's delta/1.0/<m> within ${TOL}·(1+|e|)`, async () => {
      const c = loadLycorisCase(lycorisRoot, entry);
      const [twin] = await readPeftAdapterDir(join(c.dir, "peft"));
      const shapeOf = (m: string) => c.base.get(`${m}.weight`)?.shape;
      const written = peftToLycoris(twin!, { registry, weightShape: shapeOf });
      const bytes = serializeSafetensors(written.tensors, { metadata: written.metadata });
      const read = readLycorisAdapter(bytes, { moduleNames: c.modelModules.map((m) => m.name), registry });
      expect(read.modules.map((m) => m.moduleName).sort()).toEqual([...c.expected.targeted_modules].sort());
      for (const m of read.modules) {
        const got = lycorisDeltaWeight(m, c.base.get(`${m.moduleName}.weight`)!);
        const want = c.tensors.get(`delta/1.0/${m.moduleName}`)!;
        expect(worstRelative(got, want), m.moduleName).toBeLessThanOrEqual(TOL);
      }
    });
  }
});
