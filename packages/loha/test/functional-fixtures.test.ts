import { type Tensor, tensor } from "@lycoris-ts/kernels";
import { describe, expect, it } from "vitest";
import { lohaDeltaWeight, lohaForward, lohaMergeInto } from "../src/functional/index";
import {
  convGeometryOf,
  formatTolRatio,
  layerShapeOf,
  loadCase,
  lohaCaseNames,
  maxRelErr,
} from "./support/fixtures";

function copy(t: Tensor<Float32Array>): Tensor<Float32Array> {
  return tensor(new Float32Array(t.data), t.shape);
}

// Tolerances:
// - ΔW: |ours − PEFT| ≤ 1e-5·(1 + |PEFT|) per element. ΔW entries are sums of r ≤ 8 float32
//   products per factor, so float32 rounding differences from a different summation order stay
//   far below 1e-5.
// - adapter_out / merged: FORMAT.md's per-tensor bound |a − e| ≤ 1e-5·max|e| + 1e-4·|e|; outputs
//   sum in·∏k products, so the absolute error scales with the tensor's magnitude.
describe("LoHa numerics vs PEFT fixtures", () => {
  for (const name of lohaCaseNames()) {
    it(name, () => {
      const c = loadCase(name);
      let checked = 0;
      for (const [moduleName, mod] of Object.entries(c.expected.modules)) {
        const desc = c.module(moduleName);
        const layer = layerShapeOf(desc);
        const conv = layer.kind === "linear" ? undefined : convGeometryOf(desc);
        const x = c.input(moduleName);
        for (const [adapter, exp] of Object.entries(mod.adapters)) {
          const params = c.factors(adapter, moduleName);
          const delta = lohaDeltaWeight(params, layer, exp.scaling);
          const wantDelta = c.expectedTensor(`delta/${adapter}/${moduleName}`);
          expect(delta.shape).toEqual(wantDelta.shape);
          expect(maxRelErr(delta.data, wantDelta.data), `${moduleName}/${adapter} delta`).toBeLessThanOrEqual(
            1e-5,
          );
          // The same ΔW written into a caller's buffer (NaN-filled and longer: a value not written shows).
          const buffer: Float32Array = new Float32Array(delta.data.length + 5).fill(Number.NaN);
          const into = lohaDeltaWeight(params, layer, exp.scaling, buffer);
          expect(into.shape).toEqual(wantDelta.shape);
          expect(
            maxRelErr(into.data, wantDelta.data),
            `${moduleName}/${adapter} delta (out)`,
          ).toBeLessThanOrEqual(1e-5);

          const wantOut = c.expectedTensor(`adapter_out/${adapter}/${moduleName}`);
          const paths =
            layer.kind === "linear" ? (["factorised", "materialised"] as const) : (["auto"] as const);
          for (const path of paths) {
            const y = lohaForward(x, params, layer, exp.scaling, conv, { path });
            expect(y.shape).toEqual(wantOut.shape);
            expect(
              formatTolRatio(y.data, wantOut.data),
              `${moduleName}/${adapter} out (${path})`,
            ).toBeLessThanOrEqual(1);
          }
          checked++;
        }
        // Merge every active adapter (in order) into a copy of the base weight, then un-merge.
        const base = c.base(`${moduleName}.weight`);
        const w = copy(base);
        const active = c.expected.active_adapters.filter((a) => mod.adapters[a] !== undefined);
        for (const a of active) {
          lohaMergeInto(w, c.factors(a, moduleName), layer, mod.adapters[a]?.scaling ?? Number.NaN);
        }
        const merged = c.expectedTensor(`merged/${moduleName}.weight`);
        expect(formatTolRatio(w.data, merged.data), `${moduleName} merged`).toBeLessThanOrEqual(1);
        for (const a of [...active].reverse()) {
          lohaMergeInto(w, c.factors(a, moduleName), layer, -(mod.adapters[a]?.scaling ?? Number.NaN));
        }
        expect(formatTolRatio(w.data, base.data), `${moduleName} unmerged`).toBeLessThanOrEqual(1);
      }
      expect(checked).toBeGreaterThan(0);
    });
  }
});
