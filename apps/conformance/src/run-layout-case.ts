import { join } from "node:path";
import type { Tensor } from "@lycoris-ts/kernels";
import {
  type AdapterKeyMap,
  applyLoaderPatch,
  type KeyMapEntry,
  type LoaderPatch,
  mapAdapterKeys,
  placeLoaderPatches,
} from "@lycoris-ts/lycoris-format";
import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { expectEqual, Mismatch } from "./compare";
import { readJson, readTensors } from "./fixture-files";
import type { CaseResult } from "./run-case";

interface Slice {
  readonly dim: number;
  readonly start: number;
  readonly size: number;
}

interface LayoutTarget {
  readonly comfy_key: { readonly key: string; readonly offset?: Slice; readonly function?: string };
  readonly checkpoint: { readonly tensor: string; readonly offset?: Slice } | null;
  readonly applied: boolean;
  readonly algo: string;
  readonly rank: number | null;
  readonly alpha: number | null;
  readonly scale: number;
  readonly dora: boolean;
}

/** expected.json of a key-layout case (fixtures/lycoris-layouts/FORMAT.md), the parts compared. */
interface LayoutExpected {
  readonly family: string;
  readonly modules: Readonly<
    Record<string, { readonly file_keys: readonly string[]; readonly targets: readonly LayoutTarget[] }>
  >;
  readonly not_loaded: readonly string[];
  readonly mapped_but_not_applied: readonly { readonly key: string; readonly offset?: Slice }[];
}

/** FORMAT.md's tolerance: |a − e| ≤ 1e-5·max|e| + 1e-6 per tensor. */
const REL = 1e-5;
const ABS = 1e-6;

const sorted = <T>(xs: readonly T[]): string[] => xs.map((x) => JSON.stringify(x)).sort();

/** rank / alpha / scale / DoRA of a patch, as expected.json records them per target. */
function patchNumbers(p: LoaderPatch): {
  rank: number | null;
  alpha: number | null;
  scale: number;
  dora: boolean;
} {
  const w = p.weight;
  if (w === null || w.form === "diff") return { rank: null, alpha: null, scale: 1, dora: false };
  if (w.form === "lora") return { rank: w.rank, alpha: w.alpha, scale: w.scale, dora: w.doraScale !== null };
  const m = w.module;
  return { rank: m.rank, alpha: m.alpha, scale: m.scale, dora: m.doraScale !== null };
}

function compareModules(map: AdapterKeyMap, expected: LayoutExpected): void {
  const byKey = new Map<string, KeyMapEntry>(map.entries.map((e) => [e.moduleKey, e]));
  for (const [key, m] of Object.entries(expected.modules)) {
    const e = byKey.get(key);
    if (e === undefined || (e.status !== "placed" && e.status !== "not_applied")) {
      throw new Mismatch(`${key}: not mapped (${e?.message ?? "no such module key"})`);
    }
    expectEqual(
      `${key}.file_keys`,
      sorted(e.tensors.filter((t) => !e.unread.includes(t))),
      sorted(m.file_keys),
    );
    expectEqual(
      `${key}.targets`,
      e.targets.map((t) => ({
        key: t.comfyKey,
        offset: t.comfyOffset,
        function: t.function,
        checkpoint: t.tensor === null ? null : { tensor: t.tensor, offset: t.slice },
        applied: t.applied,
        algo: e.kind,
      })),
      m.targets.map((t) => ({
        key: t.comfy_key.key,
        offset: t.comfy_key.offset ?? null,
        function: t.comfy_key.function ?? null,
        checkpoint:
          t.checkpoint === null ? null : { tensor: t.checkpoint.tensor, offset: t.checkpoint.offset ?? null },
        applied: t.applied,
        algo: t.algo,
      })),
    );
  }
  for (const e of map.entries) {
    if (expected.modules[e.moduleKey] === undefined && e.targets.length > 0) {
      throw new Mismatch(`${e.moduleKey}: mapped here, not by ComfyUI`);
    }
  }
  expectEqual("not_loaded", sorted(map.notLoaded), sorted(expected.not_loaded));
  expectEqual(
    "mapped_but_not_applied",
    sorted(
      map.notApplied.map((t) => ({
        key: t.comfyKey,
        ...(t.comfyOffset === null ? {} : { offset: t.comfyOffset }),
      })),
    ),
    sorted(expected.mapped_but_not_applied),
  );
}

function comparePatchNumbers(placed: ReturnType<typeof placeLoaderPatches>, expected: LayoutExpected): void {
  for (const { patch, entry } of placed.placements) {
    const t = expected.modules[entry.moduleKey]!.targets[0]!;
    const ours = patchNumbers(patch);
    const close = (a: number | null, b: number | null) =>
      a === null ? b === null : b !== null && Math.abs(a - b) <= 1e-6 * Math.abs(b);
    if (
      ours.rank !== t.rank ||
      !close(ours.alpha, t.alpha) ||
      !close(ours.scale, t.scale) ||
      ours.dora !== t.dora
    ) {
      throw new Mismatch(
        `${entry.moduleKey}: rank/alpha/scale/dora ${JSON.stringify(ours)}, expected ${JSON.stringify({ rank: t.rank, alpha: t.alpha, scale: t.scale, dora: t.dora })}`,
      );
    }
  }
}

/** Merges at `strength` patch by patch and compares every patched tensor; returns the worst |a − e| / max|e|. */
function compareMerged(
  base: ReadonlyMap<string, Tensor<Float32Array>>,
  placed: ReturnType<typeof placeLoaderPatches>,
  expected: ReadonlyMap<string, Tensor<Float32Array>>,
  strength: string,
): number {
  const merged = new Map<string, Tensor<Float32Array>>();
  for (const { tensor, patch, target } of placed.placements) {
    const current = merged.get(tensor) ?? {
      data: base.get(tensor)!.data.slice(),
      shape: base.get(tensor)!.shape,
    };
    applyLoaderPatch(current, patch, target, Number(strength));
    merged.set(tensor, current);
  }
  const prefix = `merged/${strength}/`;
  const names = [...expected.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
  expectEqual(`merged/${strength} tensors`, [...merged.keys()].sort(), names.sort());
  let worst = 0;
  for (const name of names) {
    const e = expected.get(prefix + name)!.data;
    const a = merged.get(name)!.data;
    let max = 0;
    for (const v of e) max = Math.max(max, Math.abs(v));
    const tol = REL * max + ABS;
    for (let i = 0; i < e.length; i++) {
      const diff = Math.abs(a[i]! - e[i]!);
      if (!(diff <= tol)) {
        throw new Mismatch(
          `merged/${strength}/${name}: element ${i} is ${a[i]}, expected ${e[i]} (|error| ${diff.toExponential(2)} > ${tol.toExponential(2)} = 1e-5·max|e| + 1e-6)`,
          diff / Math.max(max, ABS),
        );
      }
      worst = Math.max(worst, diff / Math.max(max, ABS));
    }
  }
  return worst;
}

/**
 * Runs one key-layout case (fixtures/lycoris-layouts/FORMAT.md): the adapter's keys placed on the base
 * checkpoint (ComfyUI's key map: targets, row slices, functions, kinds, not-loaded tensors, targets
 * mapped but not applied, exactly), each module's rank / alpha / scale / DoRA, and the merged weights
 * at strengths 1.0 and 0.5 within FORMAT.md's tolerance. `worst`: the worst |a − e| / max|e| of a tensor.
 */
export function runLayoutCase(dir: string, caseName: string, registry: AdapterRegistry): CaseResult {
  const name = `lycoris-layouts/${caseName}`;
  try {
    const root = join(dir, caseName);
    const base = readTensors(join(root, "base.safetensors"));
    const adapter = readTensors(join(root, "adapter.safetensors"));
    const expected = readJson<LayoutExpected>(join(root, "expected.json"));
    const map = mapAdapterKeys(
      [...base].map(([n, t]) => ({ name: n, shape: t.shape })),
      adapter.keys(),
      { registry },
    );
    expectEqual("family", map.family, expected.family);
    compareModules(map, expected);
    const placed = placeLoaderPatches(map, adapter, registry);
    if (placed.unsupported.length > 0) throw new Mismatch(placed.unsupported[0]!.error.message);
    comparePatchNumbers(placed, expected);
    const merged = readTensors(join(root, "expected.safetensors"));
    const worst = Math.max(
      compareMerged(base, placed, merged, "1.0"),
      compareMerged(base, placed, merged, "0.5"),
    );
    return { name, status: "pass", detail: "", worst };
  } catch (error) {
    const worst = error instanceof Mismatch && Number.isFinite(error.worst) ? error.worst : 0;
    return { name, status: "fail", detail: (error as Error).message, worst };
  }
}
