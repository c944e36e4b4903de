import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type LazySvd, matmul, reshape, svd, type Tensor } from "@lycoris-ts/kernels";
import { loraFactors, readSafetensorsSync, selectLoraRank } from "@lycoris-ts/runtime";
import { describe, expect, it } from "vitest";
import { lohaSvdPath } from "../src/functional/delta-weight-svd";
import {
  type LoHaLayerShape,
  LoHaMathError,
  lohaDeltaWeight,
  lohaDeltaWeightSvd,
  lohaParamShapes,
} from "../src/functional/index";
import { layerShapeOf, loadCase, maxRelErr } from "./support/fixtures";
import { randomParams64 } from "./support/random";

// PEFT's convert_to_lora output for the LoHa cases of fixtures/peft (format: fixtures/peft-lora-conversion/FORMAT.md).
const CONVERSION = fileURLToPath(new URL("../../../fixtures/peft-lora-conversion/", import.meta.url));
const conversionJson = <T>(rel: string): T => JSON.parse(readFileSync(`${CONVERSION}${rel}`, "utf8")) as T;

interface ConversionExpected {
  rank: number;
  rank_type: "int" | "float";
  converted_modules: string[];
  modules: Record<
    string,
    {
      effective_rank: number;
      relative_error: number;
      rank_robust: boolean;
      truncation_well_conditioned: boolean;
      ba_equivalent_ranks: [number, number];
    }
  >;
}

const paths = ["structured", "materialised"] as const;
const f64 = (t: Tensor<Float32Array | Float64Array>): Tensor<Float64Array> => ({
  data: Float64Array.from(t.data),
  shape: t.shape,
});
const flat = (t: Tensor<Float64Array>, layer: LoHaLayerShape) =>
  reshape(t, [layer.outFeatures, t.data.length / layer.outFeatures]);

describe("LoHa → LoRA without ΔW, against PEFT's convert_to_lora", () => {
  const index = conversionJson<{
    cases: { name: string; peft_types: string[]; converted: Record<string, string[]> }[];
  }>("index.json");
  const lohaCases = index.cases.filter(
    (c) => c.peft_types.length === 1 && c.peft_types[0] === "LOHA" && Object.keys(c.converted).length > 0,
  );

  it("has the converted LoHa cases", () => {
    expect(lohaCases.length).toBeGreaterThanOrEqual(4);
  });

  // FORMAT.md's comparison rule: effective ranks exactly (where rank_robust; else within ba_equivalent_ranks),
  // singular values and B·A element-wise within 1e-4·(1 + |ref|) (B·A where truncation_well_conditioned),
  // relative error within 1e-4. PEFT ran a float32 SVD of a float32 ΔW; ours is float64 from the factors.
  for (const c of lohaCases) {
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
            const layer = layerShapeOf(source.module(m));
            const scaling = source.expected.modules[m]!.adapters[adapter]!.scaling;
            for (const path of paths) {
              const where = `${dir} ${m} (${path})`;
              const lazy = lohaDeltaWeightSvd(source.factors(adapter, m), layer, scaling, { path });
              expect(
                maxRelErr(lazy.singularValues, refs.get(`singular_values/${m}`)!.data),
                where,
              ).toBeLessThanOrEqual(1e-4);
              const k = selectLoraRank(lazy.singularValues, rank, m);
              if (e.rank_robust) expect(k, where).toBe(e.effective_rank);
              else {
                expect(k, where).toBeGreaterThanOrEqual(e.ba_equivalent_ranks[0]);
                expect(k, where).toBeLessThanOrEqual(e.ba_equivalent_ranks[1]);
              }
              const f = loraFactors(lazy, rank, m);
              expect([f.loraA.shape, f.loraB.shape], where).toEqual([
                [k, layer.inFeatures],
                [layer.outFeatures, k],
              ]);
              if (k === e.effective_rank) {
                expect(Math.abs(f.relativeError - e.relative_error), where).toBeLessThanOrEqual(1e-4);
                if (e.truncation_well_conditioned) {
                  const ba = matmul(f64(f.loraB), f64(f.loraA)).data;
                  expect(maxRelErr(ba, refs.get(`ba/${m}`)!.data), where).toBeLessThanOrEqual(1e-4);
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

/** U_k·diag(s_k)·V_kᵀ from a float64 SVD (vectors as columns). */
function truncation(
  u: Tensor<Float64Array>,
  s: ArrayLike<number>,
  v: Tensor<Float64Array>,
  k: number,
): Float64Array {
  const [rows, pu] = [u.shape[0]!, u.shape[1]!];
  const [cols, pv] = [v.shape[0]!, v.shape[1]!];
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++)
      for (let t = 0; t < k; t++)
        out[i * cols + j] = out[i * cols + j]! + u.data[i * pu + t]! * s[t]! * v.data[j * pv + t]!;
  return out;
}

/**
 * A LazySvd of `delta` against a full float64 SVD of it (ml-matrix via kernels' `svd`): all singular values to
 * 1e-10·σ₀ and, at every k ≤ 8 whose gap is ≥ 1e-3·σ₀, the triplets Δ·v = s·u to 1e-10·σ₀ and the rank-k
 * truncation to 1e-8·σ₀ (float64 backward-stable algorithms; truncations are conditioned by 1/gap ≤ 1e3).
 */
function expectMatchesFullSvd(lazy: LazySvd, delta: Tensor<Float64Array>, where: string): number {
  const ref = svd(delta);
  const s0 = ref.s[0]!;
  expect(s0, `${where}: a non-zero ΔW`).toBeGreaterThan(0);
  for (let i = 0; i < ref.s.length; i++)
    expect(Math.abs(lazy.singularValues[i]! - ref.s[i]!), `${where} σ${i}`).toBeLessThanOrEqual(1e-10 * s0);
  let ranks = 0;
  for (let k = 1; k <= Math.min(8, ref.s.length); k++) {
    if ((k < ref.s.length ? ref.s[k - 1]! - ref.s[k]! : ref.s[k - 1]!) < 1e-3 * s0) continue;
    const lead = lazy.leading(k);
    const dv = matmul(delta, lead.v).data;
    for (let i = 0; i < dv.length; i++)
      expect(Math.abs(dv[i]! - lead.s[i % k]! * lead.u.data[i]!), `${where} Δ·v = s·u`).toBeLessThanOrEqual(
        1e-10 * s0,
      );
    const got = truncation(lead.u, lead.s, lead.v, k);
    const want = truncation(ref.u, ref.s, ref.v, k);
    for (let i = 0; i < got.length; i++)
      expect(Math.abs(got[i]! - want[i]!), `${where} k=${k}`).toBeLessThanOrEqual(1e-8 * s0);
    ranks++;
  }
  return ranks;
}

describe("LoHa SVD of ΔW against a full float64 SVD of the materialised ΔW", () => {
  const cases: { label: string; layer: LoHaLayerShape; r: number; tucker?: boolean; r2?: number }[] = [
    { label: "linear r=2", layer: { kind: "linear", outFeatures: 20, inFeatures: 14, kernelSize: [] }, r: 2 },
    {
      label: "linear r=3, wide",
      layer: { kind: "linear", outFeatures: 12, inFeatures: 40, kernelSize: [] },
      r: 3,
    },
    {
      label: "linear r1=2, r2=3 (different ranks)",
      layer: { kind: "linear", outFeatures: 16, inFeatures: 18, kernelSize: [] },
      r: 2,
      r2: 3,
    },
    {
      label: "linear r=4: r² ≥ min(out, in), decomposed directly",
      layer: { kind: "linear", outFeatures: 10, inFeatures: 9, kernelSize: [] },
      r: 4,
    },
    {
      label: "conv2d 3×3",
      layer: { kind: "conv2d", outFeatures: 12, inFeatures: 4, kernelSize: [3, 3] },
      r: 2,
    },
    {
      label: "conv2d groups 2",
      layer: { kind: "conv2d", outFeatures: 16, inFeatures: 3, kernelSize: [3, 2], groups: 2 },
      r: 2,
    },
    { label: "conv1d k=5", layer: { kind: "conv1d", outFeatures: 14, inFeatures: 6, kernelSize: [5] }, r: 3 },
    {
      label: "conv2d Tucker (effective conv)",
      layer: { kind: "conv2d", outFeatures: 18, inFeatures: 10, kernelSize: [3, 3] },
      r: 2,
      tucker: true,
    },
    {
      label: "conv1d Tucker (effective conv)",
      layer: { kind: "conv1d", outFeatures: 16, inFeatures: 8, kernelSize: [3] },
      r: 3,
      tucker: true,
    },
  ];
  for (const [i, c] of cases.entries()) {
    it(c.label, () => {
      let layout = lohaParamShapes(c.layer, { r: c.r, useEffectiveConv2d: c.tucker ?? false }).params;
      if (c.r2 !== undefined) {
        const other = lohaParamShapes(c.layer, { r: c.r2, useEffectiveConv2d: false }).params;
        layout = layout.map(([name, shape]) =>
          name.startsWith("hada_w2") ? (other.find(([n]) => n === name) ?? [name, shape]) : [name, shape],
        );
      }
      const params = randomParams64(layout, 500 + i);
      const scale = i % 2 === 0 ? 0.8 : -1.7;
      const delta = flat(lohaDeltaWeight(params, c.layer, scale), c.layer);
      let ranks = 0;
      for (const path of paths) {
        ranks += expectMatchesFullSvd(
          lohaDeltaWeightSvd(params, c.layer, scale, { path }),
          delta,
          `${c.label} ${path}`,
        );
      }
      expect(ranks).toBeGreaterThan(0);
    });
  }

  it("LoHa conv layers of fixtures/peft (refused by PEFT): PEFT's own ΔW, decomposed in float64", () => {
    let checked = 0;
    for (const name of [
      "loha-conv2d",
      "loha-conv2d-effective",
      "loha-conv1d",
      "loha-conv1d-effective",
      "loha-conv2d-groups",
    ]) {
      const source = loadCase(name);
      for (const [m, mod] of Object.entries(source.expected.modules)) {
        if (mod.kind === "linear") continue;
        const layer = layerShapeOf(source.module(m));
        for (const [adapter, a] of Object.entries(mod.adapters)) {
          const lazy = lohaDeltaWeightSvd(source.factors(adapter, m), layer, a.scaling, {
            path: "structured",
          });
          const delta = flat(f64(source.expectedTensor(`delta/${adapter}/${m}`)), layer);
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
            const ba = matmul(f64(f.loraB), f64(f.loraA)).data;
            expect(
              maxRelErr(ba, truncation(ref.u, ref.s, ref.v, k)),
              `${name} ${m} k=${k}`,
            ).toBeLessThanOrEqual(1e-5);
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(5);
  });

  it("refuses factors that do not fit the layer with LoHaMathError", () => {
    const layer: LoHaLayerShape = { kind: "linear", outFeatures: 6, inFeatures: 5, kernelSize: [] };
    const params = randomParams64(lohaParamShapes(layer, { r: 2, useEffectiveConv2d: false }).params, 1);
    expect(() => lohaDeltaWeightSvd(params, { ...layer, inFeatures: 4 }, 1)).toThrow(LoHaMathError);
  });
});

describe("lohaSvdPath", () => {
  it("materialises tiny layers and r² ≥ min(out, in); factorises large ones; passes explicit choices", () => {
    expect(lohaSvdPath("auto", 8, 8, 2, 2)).toBe("materialised");
    expect(lohaSvdPath(undefined, 64, 64, 8, 8)).toBe("materialised");
    expect(lohaSvdPath("auto", 512, 512, 8, 8)).toBe("structured");
    expect(lohaSvdPath("auto", 4096, 4096, 8, 8)).toBe("structured");
    expect(lohaSvdPath("structured", 8, 8, 2, 2)).toBe("structured");
    expect(lohaSvdPath("materialised", 4096, 4096, 8, 8)).toBe("materialised");
  });
});
