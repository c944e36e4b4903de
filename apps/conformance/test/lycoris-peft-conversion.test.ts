import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Tensor } from "@lycoris-ts/kernels";
import { registerLoHa } from "@lycoris-ts/loha";
import { registerLoKr } from "@lycoris-ts/lokr";
import { type LycorisConfig, resolveRankAndAlpha } from "@lycoris-ts/lycoris-config";
import {
  lycorisDeltaWeight,
  lycorisLayerGeometry,
  lycorisToPeft,
  readLycorisAdapter,
} from "@lycoris-ts/lycoris-format";
import { AdapterRegistry, PEFT_KEY_PREFIX, readAdapterConfig } from "@lycoris-ts/runtime";
import { readSafetensorsSync } from "@lycoris-ts/safetensors";
import { describe, expect, it } from "vitest";
import { loadLycorisCase, lycorisCaseEntries, worstRelative } from "../src/lycoris-fixture-case";

const root = fileURLToPath(new URL("../../../fixtures/lycoris/", import.meta.url));

/** Same bound as the fixture deltas: two float32 rebuilds of the same factors (see lycoris-fixtures.test.ts). */
const TOL = 1e-5;

const registry = new AdapterRegistry();
registerLoKr(registry);
registerLoHa(registry);

/** PEFT's ΔW of `module` from a config and `base_model.model.*` weights (scale alpha/r). */
function peftDelta(
  config: LycorisConfig,
  weights: ReadonlyMap<string, Tensor<Float32Array>>,
  module: string,
  weightShape: readonly number[],
): Tensor<Float32Array> {
  const variant = registry.get(config.peftType);
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

for (const entry of lycorisCaseEntries(root)) {
  describe(`LyCORIS → PEFT: ${entry.name}`, () => {
    const c = loadLycorisCase(root, entry);
    const adapter = readLycorisAdapter(c.adapterBytes, {
      moduleNames: c.modelModules.map((m) => m.name),
      registry,
    });
    const conversion = lycorisToPeft(adapter, { weightShape: (m) => c.base.get(`${m}.weight`)?.shape });
    const convertible = c.expected.peft_conversion?.status === "converted";

    it(convertible ? "converts" : "reports why it cannot convert", () => {
      expect(conversion.ok, conversion.ok ? "" : conversion.reason).toBe(convertible);
      if (!conversion.ok) expect(conversion.reason.length).toBeGreaterThan(10);
    });

    if (convertible) {
      it(`our PEFT adapter's delta equals the loader delta within ${TOL}·(1+|e|)`, () => {
        if (!conversion.ok) throw new Error(conversion.reason);
        for (const m of adapter.modules) {
          const w0 = c.base.get(`${m.moduleName}.weight`)!;
          const ours = peftDelta(conversion.config, conversion.weights, m.moduleName, w0.shape);
          expect(worstRelative(ours, lycorisDeltaWeight(m, w0)), m.moduleName).toBeLessThanOrEqual(TOL);
          expect(
            worstRelative(ours, c.tensors.get(`delta/1.0/${m.moduleName}`)!),
            m.moduleName,
          ).toBeLessThanOrEqual(TOL);
        }
      });

      it(`the peft/ twin, loaded the PEFT way, gives the loader delta within ${TOL}·(1+|e|)`, async () => {
        const config = await readAdapterConfig(join(c.dir, "peft"), { registry });
        const weights = readSafetensorsSync(join(c.dir, "peft", "adapter_model.safetensors")).tensors;
        for (const m of adapter.modules) {
          const w0 = c.base.get(`${m.moduleName}.weight`)!;
          const twin = peftDelta(config, weights, m.moduleName, w0.shape);
          expect(worstRelative(twin, lycorisDeltaWeight(m, w0)), m.moduleName).toBeLessThanOrEqual(TOL);
        }
      });
    }
  });
}
