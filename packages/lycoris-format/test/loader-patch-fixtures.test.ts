import { readFileSync } from "node:fs";
import { ScratchPool, type Tensor } from "@lycoris-ts/kernels";
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

function merged(name: string, strength: number, scratch?: ScratchPool): Map<string, Tensor<Float32Array>> {
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
    applyLoaderPatch(current, patch, target, strength, scratch);
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

/**
 * The same merges with one scratch pool reused for every case and patch (its buffers pre-filled with
 * NaN and longer than any ΔW, then holding earlier patches' leftovers): bit for bit the merges into
 * fresh arrays (tolerance 0: the same float operations, only the memory differs).
 */
describe("lycoris-layouts merged through one reused scratch pool", () => {
  const pool = new ScratchPool();
  const largest = 1 << 20;
  pool.take(largest, 0).fill(Number.NaN);
  pool.take(largest, 1).fill(Number.NaN);
  for (const c of indexCases()) {
    it(`${c.name}: same bits as fresh buffers`, () => {
      for (const strength of [1, 0.5]) {
        const fresh = merged(c.name, strength);
        const pooled = merged(c.name, strength, pool);
        for (const [n, t] of fresh) {
          const p = pooled.get(n)!.data;
          const bytes = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
          expect(Buffer.compare(bytes(p), bytes(t.data)), `${n} at ${strength}`).toBe(0);
        }
      }
      expect(pool.capacity, "no patch outgrew the pool").toBe(2 * largest);
    });
  }
});
