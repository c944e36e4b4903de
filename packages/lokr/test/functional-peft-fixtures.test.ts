import type { Tensor } from "@lycoris-ts/kernels";
import { describe, expect, it } from "vitest";
import { lokrDeltaWeight, lokrForward, lokrMergeInto } from "../src/functional";
import {
  convGeometryOf,
  type ExpectedJson,
  fixturesDir,
  layerShapeOf,
  lokrCaseNames,
  type ModelJson,
  readJson,
  worstViolation,
} from "./support/functional-fixtures";
import { readF32Safetensors } from "./support/functional-safetensors";

// Tolerance: |ours − PEFT| ≤ 1e-5 · (1 + |PEFT|) per element (the conformance rule). PEFT computed
// in float32 with its own operation order; our float32 results differ only by summation order, a few ulps.
function expectClose(
  actual: Tensor<Float32Array>,
  expected: Tensor<Float32Array> | undefined,
  what: string,
): void {
  expect(expected, `${what} present in the fixture`).toBeDefined();
  expect([...actual.shape], `${what} shape`).toEqual([...expected!.shape]);
  const worst = worstViolation(actual.data, expected!.data);
  expect(worst, `${what}: worst error / tolerance`).toBeLessThanOrEqual(1);
}

function paramsOf(
  weights: Map<string, Tensor<Float32Array>>,
  moduleName: string,
): Record<string, Tensor<Float32Array>> {
  const prefix = `base_model.model.${moduleName}.`;
  const out: Record<string, Tensor<Float32Array>> = {};
  for (const [key, t] of weights) {
    if (!key.startsWith(prefix)) continue;
    const rest = key.slice(prefix.length);
    if (rest.startsWith("lokr_")) out[rest] = t;
  }
  return out;
}

describe("LoKr math against PEFT's recorded numbers", () => {
  for (const name of lokrCaseNames()) {
    it(name, () => {
      const expected = readJson<ExpectedJson>(`${name}/expected.json`);
      const model = readJson<ModelJson>(`${name}/model.json`);
      const modules = new Map(model.modules.map((m) => [m.name, m]));
      const numbers = readF32Safetensors(`${fixturesDir}${name}/expected.safetensors`);
      const inputs = readF32Safetensors(`${fixturesDir}${name}/inputs.safetensors`);
      const base = readF32Safetensors(`${fixturesDir}${name}/base.safetensors`);
      const weights = new Map(
        expected.adapters.map((a) => [
          a,
          readF32Safetensors(`${fixturesDir}${name}/${expected.adapter_files[a]!.weights}`),
        ]),
      );
      let checked = 0;
      // One ΔW buffer for every module of the case, refilled with NaN before each use (a value not
      // written shows); it grows for a larger module, as a merge engine's buffer does.
      let reused = new Float32Array(0);
      const dirty = (n: number): Float32Array => {
        if (reused.length < n) reused = new Float32Array(n + 3);
        return reused.fill(Number.NaN);
      };
      for (const [moduleName, mod] of Object.entries(expected.modules)) {
        const m = modules.get(moduleName)!;
        const layer = layerShapeOf(m);
        const conv = convGeometryOf(m);
        const x = inputs.get(moduleName)!;
        const baseWeight = base.get(`${moduleName}.weight`)!;
        const merged: Tensor<Float32Array> = { data: baseWeight.data.slice(), shape: baseWeight.shape };
        for (const [adapterName, a] of Object.entries(mod.adapters)) {
          const params = paramsOf(weights.get(adapterName)!, moduleName);
          expect(Object.keys(params).sort(), `${moduleName}/${adapterName} params`).toEqual(
            Object.keys(a.params).sort(),
          );
          const where = `${moduleName} / ${adapterName}`;
          expectClose(
            lokrDeltaWeight(params, layer, a.scaling),
            numbers.get(`delta/${adapterName}/${moduleName}`),
            `delta ${where}`,
          );
          const numel = baseWeight.data.length;
          expectClose(
            lokrDeltaWeight(params, layer, a.scaling, { out: dirty(numel) }),
            numbers.get(`delta/${adapterName}/${moduleName}`),
            `delta ${where} (into a reused buffer)`,
          );
          expectClose(
            lokrForward(x, params, layer, a.scaling, conv),
            numbers.get(`adapter_out/${adapterName}/${moduleName}`),
            `adapter_out ${where}`,
          );
          checked += 1;
        }
        const active = expected.active_adapters.filter((a) => mod.adapters[a] !== undefined);
        for (const a of active) {
          lokrMergeInto(merged, paramsOf(weights.get(a)!, moduleName), layer, mod.adapters[a]!.scaling);
        }
        expectClose(merged, numbers.get(`merged/${moduleName}.weight`), `merged ${moduleName}`);
        for (const a of [...active].reverse()) {
          lokrMergeInto(merged, paramsOf(weights.get(a)!, moduleName), layer, -mod.adapters[a]!.scaling);
        }
        expectClose(merged, numbers.get(`unmerged/${moduleName}.weight`), `unmerged ${moduleName}`);
      }
      expect(checked).toBeGreaterThan(0);
    });
  }
});
