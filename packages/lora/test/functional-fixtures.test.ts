import { describe, expect, it } from "vitest";
import { LoraError, loraDeltaWeight, loraForward, loraParamShapes } from "../src/functional";
import {
  convGeometryOf,
  type ExpectedJson,
  layerShapeOf,
  loraCaseNames,
  type ModelModule,
  readJson,
  readTensors,
  worstViolation,
} from "./support/fixtures";

// The pure LoRA functions against every module of every PEFT fixture case, with PEFT's saved factors.
// Tolerance: PEFT's suggested 1e-5·(1 + |expected|) per element (FORMAT.md): float32 in another order.
describe("LoRA math vs PEFT (fixtures/peft-lora)", () => {
  for (const name of loraCaseNames()) {
    it(name, () => {
      const exp = readJson<ExpectedJson>(name, "expected.json");
      const modules = readJson<{ modules: ModelModule[] }>(name, "model.json").modules;
      const inputs = readTensors(name, "inputs.safetensors");
      const expected = readTensors(name, "expected.safetensors");
      for (const [mod, em] of Object.entries(exp.modules)) {
        const m = modules.find((x) => x.name === mod)!;
        const layer = layerShapeOf(m);
        const conv = convGeometryOf(m);
        for (const [adapter, ea] of Object.entries(em.adapters)) {
          expect(Object.fromEntries(loraParamShapes(layer, ea.r).map(([n, s]) => [n, [...s]]))).toEqual(
            ea.params,
          );
          const file = readTensors(
            name,
            "adapter",
            ...(adapter === "default" ? [] : [adapter]),
            "adapter_model.safetensors",
          );
          const params = Object.fromEntries(
            Object.keys(ea.params).map((p) => [p, file.get(`base_model.model.${mod}.${p}`)!]),
          );
          if (ea.delta_error) {
            expect(() => loraDeltaWeight(params, layer, ea.scaling)).toThrow(LoraError);
          } else {
            const delta = loraDeltaWeight(params, layer, ea.scaling);
            const want = expected.get(`delta/${adapter}/${mod}`)!;
            expect(delta.shape).toEqual(want.shape);
            expect(worstViolation(delta.data, want.data), `delta ${mod}/${adapter}`).toBeLessThanOrEqual(1);
          }
          const y = loraForward(inputs.get(mod)!, params, layer, ea.scaling, conv);
          const want = expected.get(`adapter_out/${adapter}/${mod}`)!;
          expect(y.shape).toEqual(want.shape);
          expect(worstViolation(y.data, want.data), `adapter_out ${mod}/${adapter}`).toBeLessThanOrEqual(1);
        }
      }
    });
  }
});
