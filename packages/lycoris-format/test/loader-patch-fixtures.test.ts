import { readFileSync } from "node:fs";
import type { Tensor } from "@lycoris-ts/kernels";
import { parseSafetensors } from "@lycoris-ts/safetensors";
import { describe, expect, it } from "vitest";
import { applyLoaderPatch, mapAdapterKeys, placeLoaderPatches } from "../src/index";
import { indexCases, keyMapRegistry, LAYOUTS } from "./key-map-support";

/**
 * Every case of fixtures/lycoris-layouts merged patch by patch (key map → placeLoaderPatches →
 * applyLoaderPatch on the base tensor) at strengths 1.0 and 0.5, against ComfyUI's merged tensors
 * (expected.safetensors). Tolerance FORMAT.md's: |a − e| ≤ 1e-5·max|e| + 1e-6, float32 from
 * ComfyUI vs our float32 factors with float64 DoRA norms (FORMAT reports ≤ 1.8e-7 for a float64
 * recomputation). Every tensor of expected.safetensors must be produced, and no other.
 */

const registry = keyMapRegistry();

function load(name: string, file: string): ReadonlyMap<string, Tensor<Float32Array>> {
  return parseSafetensors(new Uint8Array(readFileSync(`${LAYOUTS}${name}/${file}`))).tensors;
}

function merged(name: string, strength: number): Map<string, Tensor<Float32Array>> {
  const base = load(name, "base.safetensors");
  const adapter = load(name, "adapter.safetensors");
  const map = mapAdapterKeys(
    [...base].map(([n, t]) => ({ name: n, shape: t.shape })),
    adapter.keys(),
    { registry },
  );
  const out = new Map<string, Tensor<Float32Array>>();
  const placed = placeLoaderPatches(map, adapter, registry);
  expect(placed.unsupported).toEqual([]);
  for (const { tensor, patch, target } of placed.placements) {
    const current = out.get(tensor) ?? structuredClone(base.get(tensor)!);
    applyLoaderPatch(current, patch, target, strength);
    out.set(tensor, current);
  }
  return out;
}

describe("lycoris-layouts merged weights (ComfyUI's calculate_weight)", () => {
  for (const c of indexCases()) {
    it(c.name, () => {
      const expected = load(c.name, "expected.safetensors");
      for (const strength of [1, 0.5]) {
        const ours = merged(c.name, strength);
        const prefix = `merged/${strength.toFixed(1)}/`;
        const names = [...expected.keys()]
          .filter((k) => k.startsWith(prefix))
          .map((k) => k.slice(prefix.length));
        expect([...ours.keys()].sort()).toEqual(names.sort());
        for (const n of names) {
          const e = expected.get(prefix + n)!.data;
          const a = ours.get(n)!.data;
          let max = 0;
          for (const v of e) max = Math.max(max, Math.abs(v));
          const tol = 1e-5 * max + 1e-6;
          let worst = 0;
          for (let i = 0; i < e.length; i++) worst = Math.max(worst, Math.abs(a[i]! - e[i]!) - tol);
          expect(worst, `${n} at ${strength}`).toBeLessThanOrEqual(0);
        }
      }
    });
  }
});
