import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type LazySvd, matmul, reshape, svd, type Tensor } from "@lycoris-ts/kernels";
import { loraFactors, readSafetensorsSync, selectLoraRank } from "@lycoris-ts/runtime";
import { describe, expect, it } from "vitest";
import { type LoKrLayerShape, lokrDeltaWeight, lokrDeltaWeightSvd } from "../src/functional";
import { lokrSvdPath } from "../src/functional/delta-weight-svd";
import { resolveStructure } from "../src/functional/factors";
import {
  type ExpectedJson,
  fixturesDir,
  layerShapeOf,
  type ModelJson,
  readJson,
} from "./support/functional-fixtures";
import { randomParams64, seeded, structureCases } from "./support/functional-random";

// PEFT's convert_to_lora output for the LoKr cases of fixtures/peft (format: fixtures/peft-lora-conversion/FORMAT.md).
const CONVERSION = fileURLToPath(new URL("../../../fixtures/peft-lora-conversion/", import.meta.url));
const conversionJson = <T>(rel: string): T => JSON.parse(readFileSync(`${CONVERSION}${rel}`, "utf8")) as T;

interface ConversionModule {
  max_rank: number;
  effective_rank: number;
  relative_error: number;
  rank_robust: boolean;
  truncation_well_conditioned: boolean;
  ba_equivalent_ranks: [number, number];
}
interface ConversionExpected {
  adapter: string;
  rank: number;
  rank_type: "int" | "float";
  converted_modules: string[];
  modules: Record<string, ConversionModule>;
}
interface ConversionCase {
  name: string;
  peft_types: string[];
  converted: Record<string, string[]>;
}

const paths = ["structured", "materialised"] as const;

function paramsOf(
  file: Map<string, Tensor<Float32Array>>,
  module: string,
): Record<string, Tensor<Float32Array>> {
  const prefix = `base_model.model.${module}.`;
  const out: Record<string, Tensor<Float32Array>> = {};
  for (const [key, t] of file) if (key.startsWith(prefix)) out[key.slice(prefix.length)] = t;
  return out;
}

/** `B·A` in float64 from the float32 LoRA factors. */
function product(b: Tensor<Float32Array>, a: Tensor<Float32Array>): Float64Array {
  const f64 = (t: Tensor<Float32Array>) => ({ data: Float64Array.from(t.data), shape: t.shape });
  return matmul(f64(b), f64(a)).data;
}

/** max over elements of |x − ref| / (1 + |ref|). */
function worstRelative(x: ArrayLike<number>, ref: ArrayLike<number>): number {
  expect(x.length).toBe(ref.length);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const e = Math.abs(x[i]! - ref[i]!) / (1 + Math.abs(ref[i]!));
    if (!(e <= worst)) worst = e;
  }
  return worst;
}

/** One LoKr adapter of a fixtures/peft case: its model, weights and per-module scaling. */
function loadCase(name: string) {
  const expected = readJson<ExpectedJson>(`${name}/expected.json`);
  const model = readJson<ModelJson>(`${name}/model.json`);
  const layers = new Map(model.modules.map((m) => [m.name, m]));
  const files = new Map(
    expected.adapters.map((a) => [
      a,
      readSafetensorsSync(`${fixturesDir}${name}/${expected.adapter_files[a]!.weights}`).tensors,
    ]),
  );
  return {
    expected,
    module(adapter: string, module: string) {
      return {
        params: paramsOf(files.get(adapter)!, module),
        layer: layerShapeOf(layers.get(module)!),
        scaling: expected.modules[module]!.adapters[adapter]!.scaling,
      };
    },
  };
}

describe("LoKr → LoRA without ΔW, against PEFT's convert_to_lora", () => {
  const index = conversionJson<{ cases: ConversionCase[] }>("index.json");
  const lokrCases = index.cases.filter(
    (c) => c.peft_types.length === 1 && c.peft_types[0] === "LOKR" && Object.keys(c.converted).length > 0,
  );

  it("has the converted LoKr cases", () => {
    expect(lokrCases.length).toBeGreaterThanOrEqual(20);
  });

  // FORMAT.md's comparison rule: effective ranks exactly (where rank_robust; else within ba_equivalent_ranks),
  // singular values and B·A element-wise within 1e-4·(1 + |ref|) (B·A where truncation_well_conditioned),
  // relative error within 1e-4. PEFT ran a float32 SVD of a float32 ΔW; ours is float64 from the factors.
  for (const c of lokrCases) {
    it(c.name, () => {
      const source = loadCase(c.name);
      let checked = 0;
      for (const [adapter, tags] of Object.entries(c.converted)) {
        for (const tag of tags) {
          const dir = adapter === "default" ? `${c.name}/${tag}` : `${c.name}/${adapter}/${tag}`;
          const exp = conversionJson<ConversionExpected>(`${dir}/expected.json`);
          const refs = readSafetensorsSync(`${CONVERSION}${dir}/expected.safetensors`).tensors;
          const rank = exp.rank_type === "int" ? { rank: exp.rank } : { threshold: exp.rank };
          for (const m of exp.converted_modules) {
            const e = exp.modules[m]!;
            const { params, layer, scaling } = source.module(adapter, m);
            for (const path of paths) {
              const where = `${dir} ${m} (${path})`;
              const lazy = lokrDeltaWeightSvd(params, layer, scaling, { path });
              expect(
                worstRelative(lazy.singularValues, refs.get(`singular_values/${m}`)!.data),
                where,
              ).toBeLessThanOrEqual(1e-4);
              const k = selectLoraRank(lazy.singularValues, rank, m);
              if (e.rank_robust) expect(k, where).toBe(e.effective_rank);
              else {
                expect(k, where).toBeGreaterThanOrEqual(e.ba_equivalent_ranks[0]);
                expect(k, where).toBeLessThanOrEqual(e.ba_equivalent_ranks[1]);
              }
              const f = loraFactors(lazy, rank, m);
              expect(f.loraA.shape, where).toEqual([k, layer.inFeatures]);
              expect(f.loraB.shape, where).toEqual([layer.outFeatures, k]);
              if (k === e.effective_rank) {
                expect(Math.abs(f.relativeError - e.relative_error), where).toBeLessThanOrEqual(1e-4);
                if (e.truncation_well_conditioned) {
                  const ba = refs.get(`ba/${m}`)!.data;
                  expect(worstRelative(product(f.loraB, f.loraA), ba), where).toBeLessThanOrEqual(1e-4);
                }
              }
              checked++;
            }
          }
        }
      }
      expect(checked).toBeGreaterThan(0);
    });
  }
});

/** Leading-k truncation U_k·S_k·V_kᵀ of a float64 SVD. */
function truncation(
  u: Tensor<Float64Array>,
  s: ArrayLike<number>,
  v: Tensor<Float64Array>,
  k: number,
): Float64Array {
  const rows = u.shape[0]!;
  const cols = v.shape[0]!;
  const pu = u.shape[1]!;
  const pv = v.shape[1]!;
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      let acc = 0;
      for (let t = 0; t < k; t++) acc += u.data[i * pu + t]! * s[t]! * v.data[j * pv + t]!;
      out[i * cols + j] = acc;
    }
  return out;
}

/**
 * Checks a LazySvd of the float64 matrix `delta` against a full SVD of it: all singular values, and at every
 * rank k ≤ 8 that sits at a gap of at least 1e-3·σ₀ the triplets (Δ·v = s·u, orthonormal) and the truncation.
 * Tolerances relative to σ₀: 1e-10 for values and triplets (float64, backward-stable algorithms on ≤ 256-entry
 * sides), 1e-8 for truncations (their vectors are conditioned by 1/gap ≤ 1e3).
 */
function expectMatchesFullSvd(lazy: LazySvd, delta: Tensor<Float64Array>, where: string): number {
  const ref = svd(delta);
  const s0 = Math.max(ref.s[0]!, Number.MIN_VALUE);
  expect(lazy.singularValues.length, where).toBe(ref.s.length);
  for (let i = 0; i < ref.s.length; i++)
    expect(Math.abs(lazy.singularValues[i]! - ref.s[i]!), `${where} σ${i}`).toBeLessThanOrEqual(1e-10 * s0);
  let ranksChecked = 0;
  for (let k = 1; k <= Math.min(8, ref.s.length); k++) {
    const gap = k < ref.s.length ? ref.s[k - 1]! - ref.s[k]! : ref.s[k - 1]!;
    if (gap < 1e-3 * s0) continue;
    const lead = lazy.leading(k);
    const dv = matmul(delta, lead.v).data;
    for (let i = 0; i < dv.length; i++)
      expect(
        Math.abs(dv[i]! - lead.s[i % k]! * lead.u.data[i]!),
        `${where} Δ·v = s·u, k=${k}`,
      ).toBeLessThanOrEqual(1e-10 * s0);
    const utu = matmul(lead.u, lead.u, { transA: true }).data;
    for (let i = 0; i < k; i++)
      expect(Math.abs(utu[i * k + i]! - 1), `${where} ‖u‖`).toBeLessThanOrEqual(1e-10);
    const got = truncation(lead.u, lead.s, lead.v, k);
    const want = truncation(ref.u, ref.s, ref.v, k);
    for (let i = 0; i < got.length; i++)
      expect(Math.abs(got[i]! - want[i]!), `${where} truncation k=${k}`).toBeLessThanOrEqual(1e-8 * s0);
    ranksChecked++;
  }
  return ranksChecked;
}

function flat(delta: Tensor<Float64Array>, layer: LoKrLayerShape): Tensor<Float64Array> {
  return reshape(delta, [layer.outFeatures, delta.data.length / layer.outFeatures]);
}

describe("LoKr SVD of ΔW against a full float64 SVD of the materialised ΔW", () => {
  // Every structure (full / low-rank / Tucker factors, linear, conv1d with PEFT's permuted layout, conv2d,
  // groups), both scale signs, both layouts.
  for (const [i, c] of structureCases().entries()) {
    for (const layout of ["peft", "kronecker"] as const) {
      it(`${c.label} (${layout} layout)`, () => {
        const params = randomParams64(c, seeded(100 + i));
        const scale = i % 2 === 0 ? -0.7 : 1.3;
        const delta = flat(lokrDeltaWeight(params, c.layer, scale, { layout }), c.layer);
        let ranks = 0;
        for (const path of paths) {
          const lazy = lokrDeltaWeightSvd(params, c.layer, scale, { layout, path });
          ranks += expectMatchesFullSvd(lazy, delta, `${c.label} ${path}`);
        }
        expect(ranks).toBeGreaterThan(0);
      });
    }
  }

  it("LoKr conv layers of fixtures/peft (refused by PEFT): PEFT's own ΔW, decomposed in float64", () => {
    const convCases = [
      "lokr-conv2d-full",
      "lokr-conv2d-lowrank",
      "lokr-conv2d-effective",
      "lokr-conv2d-stride-dilation",
      "lokr-conv2d-groups",
      "lokr-conv1d-full",
      "lokr-conv1d-lowrank",
      "lokr-conv1d-effective",
      "lokr-mixed-kinds",
    ];
    let checked = 0;
    for (const name of convCases) {
      const source = loadCase(name);
      const numbers = readSafetensorsSync(`${fixturesDir}${name}/expected.safetensors`).tensors;
      for (const [m, mod] of Object.entries(source.expected.modules)) {
        if (mod.kind === "linear") continue;
        for (const adapter of Object.keys(mod.adapters)) {
          const { params, layer, scaling } = source.module(adapter, m);
          const peftDelta = numbers.get(`delta/${adapter}/${m}`)!;
          const delta = flat({ data: Float64Array.from(peftDelta.data), shape: peftDelta.shape }, layer);
          const lazy = lokrDeltaWeightSvd(params, layer, scaling, { path: "structured" });
          // PEFT's ΔW is float32 (relative rounding 6e-8 per element), ours float64 from the same factors:
          // singular values and B·A agree to 1e-6·‖ΔW‖ (Weyl's bound; B·A at gaps ≥ 1e-2·σ₀).
          const ref = svd(delta);
          const s0 = ref.s[0]!;
          expect(s0, `${name} ${m}: a non-zero ΔW`).toBeGreaterThan(0);
          for (let i = 0; i < ref.s.length; i++)
            expect(Math.abs(lazy.singularValues[i]! - ref.s[i]!), `${name} ${m} σ${i}`).toBeLessThanOrEqual(
              1e-6 * (1 + s0),
            );
          for (const k of [1, 2, 4]) {
            if (k >= ref.s.length || ref.s[k - 1]! - ref.s[k]! < 1e-2 * s0) continue;
            const f = loraFactors(lazy, k);
            const want = truncation(ref.u, ref.s, ref.v, k);
            expect(worstRelative(product(f.loraB, f.loraA), want), `${name} ${m} k=${k}`).toBeLessThanOrEqual(
              1e-5,
            );
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(10);
  });
});

describe("lokrSvdPath", () => {
  const full = (l: number, m: number, k: number, n: number) => {
    const layer: LoKrLayerShape = { kind: "linear", outFeatures: l * k, inFeatures: m * n, kernelSize: [] };
    const z = (r: number, c: number) => ({ data: new Float32Array(r * c), shape: [r, c] });
    const params = { lokr_w1: z(l, m), lokr_w2: z(k, n) };
    return { params, s: resolveStructure(params, layer) };
  };
  it("materialises tiny layers, uses the factor SVDs otherwise, passes explicit choices", () => {
    const tiny = full(2, 2, 2, 2);
    expect(lokrSvdPath(tiny.params, tiny.s, "auto")).toBe("materialised");
    const mid = full(8, 8, 8, 8);
    expect(lokrSvdPath(mid.params, mid.s, undefined)).toBe("structured");
    const big = full(64, 64, 64, 64);
    expect(lokrSvdPath(big.params, big.s, "auto")).toBe("structured");
    expect(lokrSvdPath(big.params, big.s, "materialised")).toBe("materialised");
    expect(lokrSvdPath(tiny.params, tiny.s, "structured")).toBe("structured");
  });
});
