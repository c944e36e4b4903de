import { describe, expect, it } from "vitest";
import { fixtureTarget, keyMapTarget } from "../../../test-support/lycoris-layouts";
import { type AdapterKeyMap, type KeyMapTarget, mapAdapterKeys } from "../src/index";
import {
  adapterNames,
  baseTensors,
  type ExpectedCase,
  expectedOf,
  indexCases,
  keyMapRegistry,
} from "./key-map-support";

/**
 * Every case of fixtures/lycoris-layouts: the key map must equal the one ComfyUI's loader built
 * (expected.json), exactly — module keys, the tensors read, targets with ComfyUI's offsets and
 * functions, the checkpoint tensor and composed rows, applied or not, the patch kind; the keys it
 * did not load; the targets it mapped but never applied; the patched ComfyUI keys and checkpoint
 * tensors. No tolerance: these are names and integers.
 */

const sorted = <T>(xs: readonly T[]): T[] =>
  [...xs].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

const registry = keyMapRegistry();

function mapCase(name: string): AdapterKeyMap {
  return mapAdapterKeys(baseTensors(name), adapterNames(name), { registry });
}

function appliedTargets(map: AdapterKeyMap): { target: KeyMapTarget; kind: string }[] {
  return map.entries.flatMap((e) =>
    e.targets.filter((t) => t.applied).map((target) => ({ target, kind: e.kind! })),
  );
}

function checkModules(map: AdapterKeyMap, expected: ExpectedCase): void {
  const byKey = new Map(map.entries.map((e) => [e.moduleKey, e]));
  for (const [key, m] of Object.entries(expected.modules)) {
    const entry = byKey.get(key);
    expect(entry, key).toBeDefined();
    expect(["placed", "not_applied"], key).toContain(entry!.status);
    const read = entry!.tensors.filter((t) => !entry!.unread.includes(t));
    expect(sorted(read), key).toEqual(sorted(m.file_keys));
    expect(
      entry!.targets.map((t) => keyMapTarget(entry!.kind, t)),
      key,
    ).toEqual(m.targets.map(fixtureTarget));
  }
  for (const entry of map.entries) {
    if (expected.modules[entry.moduleKey] !== undefined) continue;
    expect(["no_such_module", "unknown_layout"], entry.moduleKey).toContain(entry.status);
    expect(entry.targets, entry.moduleKey).toEqual([]);
  }
}

function checkPatches(map: AdapterKeyMap, expected: ExpectedCase): void {
  const byTensor: Record<string, string[]> = {};
  type Patched = { checkpoint: Record<string, string | number>; patches: unknown[] };
  const byComfy: Record<string, Patched> = {};
  for (const { target: t, kind } of appliedTargets(map)) {
    const tensors = byTensor[t.tensor!] ?? [];
    if (!tensors.includes(t.comfyKey)) tensors.push(t.comfyKey);
    byTensor[t.tensor!] = tensors;
    // The ComfyUI key's own place in the checkpoint: the composed rows minus ComfyUI's offset.
    if (t.comfyOffset !== null) expect(t.slice).toEqual(t.comfyOffset);
    const source = t.comfyOffset === null ? t.slice : null;
    const checkpoint =
      source === null
        ? { tensor: t.tensor! }
        : { tensor: t.tensor!, dim: source.dim, offset: source.start, size: source.size };
    const entry: Patched = byComfy[t.comfyKey] ?? { checkpoint, patches: [] };
    byComfy[t.comfyKey] = entry;
    expect(entry.checkpoint).toEqual(checkpoint);
    const o = t.comfyOffset;
    entry.patches.push({ offset: o === null ? null : [o.dim, o.start, o.size], function: t.function, kind });
  }
  for (const v of Object.values(byTensor)) v.sort();
  const expectedTensors = Object.fromEntries(
    Object.entries(expected.patched_checkpoint_tensors).map(([k, v]) => [k, [...v].sort()]),
  );
  expect(byTensor).toEqual(expectedTensors);
  const expectedComfy = Object.fromEntries(
    Object.entries(expected.patched_comfy_keys).map(([k, v]) => [
      k,
      {
        checkpoint: v.checkpoint,
        patches: sorted(v.patches.map((p) => ({ offset: p.offset, function: p.function, kind: p.kind }))),
      },
    ]),
  );
  for (const v of Object.values(byComfy)) v.patches = sorted(v.patches);
  expect(byComfy).toEqual(expectedComfy);
}

describe("key map vs ComfyUI on fixtures/lycoris-layouts", () => {
  for (const c of indexCases()) {
    describe(c.name, () => {
      const expected = expectedOf(c.name);
      const map = mapCase(c.name);

      it("detects the family", () => {
        expect(map.family).toBe(expected.family);
      });

      it("places every module key where ComfyUI does (tensors read, targets, slices, functions, kinds)", () => {
        checkModules(map, expected);
        const mapped = map.entries.filter((e) => e.status === "placed" || e.status === "not_applied");
        expect(mapped.length).toBe(c.num_modules);
        expect(map.entries.flatMap((e) => e.targets).filter((t) => t.slice !== null).length).toBe(
          c.sliced_targets,
        );
      });

      it("reports exactly the tensors ComfyUI does not load", () => {
        expect(sorted(map.notLoaded)).toEqual(sorted(expected.not_loaded));
        expect(map.notLoaded.length).toBe(c.not_loaded);
      });

      it("reports exactly the targets ComfyUI maps but never applies", () => {
        const got = map.notApplied.map((t) => ({
          key: t.comfyKey,
          ...(t.comfyOffset === null ? {} : { offset: t.comfyOffset }),
          ...(t.function === null ? {} : { function: t.function }),
        }));
        expect(sorted(got)).toEqual(sorted(expected.mapped_but_not_applied));
        expect(got.length).toBe(c.mapped_but_not_applied);
      });

      it("patches the same ComfyUI keys and checkpoint tensors", () => {
        checkPatches(map, expected);
      });
    });
  }
});
