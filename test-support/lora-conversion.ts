// Shared by the variant packages' tests of `deltaWeightSvd` (packages/<variant>/test/delta-weight-svd.test.ts):
// PEFT's convert_to_lora fixtures (fixtures/peft-lora-conversion, FORMAT.md there) and a full float64 SVD of a
// materialised ΔW as references. This folder is outside every package, so the packages' functions come in as
// `tools` and the types are structural.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const CONVERSION = fileURLToPath(new URL("../fixtures/peft-lora-conversion/", import.meta.url));

interface Matrix<A extends Float32Array | Float64Array> {
  readonly data: A;
  readonly shape: readonly number[];
}

/** What a test needs of an SVD of ΔW (kernels' `LazySvd`). */
export interface LazySvdLike {
  readonly rows: number;
  readonly cols: number;
  readonly singularValues: Float64Array;
  leading(k: number): { u: Matrix<Float64Array>; s: Float64Array; v: Matrix<Float64Array> };
}

type Rank = { rank: number } | { threshold: number };

/** The packages' functions the checks use (`@lycoris-ts/kernels`, `@lycoris-ts/runtime`). */
export interface SvdTools {
  /** kernels' `svd`: a full float64 SVD. */
  svd(a: Matrix<Float64Array>): { u: Matrix<Float64Array>; s: Float64Array; v: Matrix<Float64Array> };
  readSafetensorsSync(path: string): { tensors: Map<string, Matrix<Float32Array>> };
  selectLoraRank(singularValues: Float64Array, rank: Rank, module?: string): number;
  loraFactors(
    svd: LazySvdLike,
    rank: Rank | number,
    module?: string,
  ): { loraA: Matrix<Float32Array>; loraB: Matrix<Float32Array>; relativeError: number };
}

export const SVD_PATHS = ["structured", "materialised"] as const;
export type SvdPath = (typeof SVD_PATHS)[number];

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

const conversionJson = <T>(rel: string): T => JSON.parse(readFileSync(`${CONVERSION}${rel}`, "utf8")) as T;

/** max over elements of |x − ref| / (1 + |ref|). */
export function worstRelative(x: ArrayLike<number>, ref: ArrayLike<number>): number {
  expect(x.length).toBe(ref.length);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const e = Math.abs(x[i]! - ref[i]!) / (1 + Math.abs(ref[i]!));
    if (!(e <= worst)) worst = e;
  }
  return worst;
}

/** `B·A` in float64, `[rows, cols]` row-major. */
export function loraProduct(b: Matrix<Float32Array>, a: Matrix<Float32Array>): Float64Array {
  const [rows, k] = [b.shape[0]!, b.shape[1]!];
  const cols = a.shape[1]!;
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++)
    for (let t = 0; t < k; t++) {
      const bit = b.data[i * k + t]!;
      for (let j = 0; j < cols; j++) out[i * cols + j] = out[i * cols + j]! + bit * a.data[t * cols + j]!;
    }
  return out;
}

/** The leading-k truncation `U_k·diag(s_k)·V_kᵀ` of an SVD (vectors as columns). */
export function truncation(
  u: Matrix<Float64Array>,
  s: ArrayLike<number>,
  v: Matrix<Float64Array>,
  k: number,
): Float64Array {
  const [rows, pu] = [u.shape[0]!, u.shape[1]!];
  const [cols, pv] = [v.shape[0]!, v.shape[1]!];
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
 * One `it` per case of fixtures/peft-lora-conversion whose only PEFT type is `peftType` and that PEFT
 * converted: for every converted (adapter, rank, module) and both paths, `svdOf` must give PEFT's singular
 * values and effective rank and, through `loraFactors`, PEFT's `B·A` and relative error. FORMAT.md's rule:
 * effective ranks exactly where `rank_robust` (else within `ba_equivalent_ranks`), singular values and B·A
 * element-wise within 1e-4·(1 + |ref|) (B·A where `truncation_well_conditioned`), relative error within 1e-4.
 * PEFT ran a float32 SVD of a float32 ΔW; ours is float64 from the factors.
 */
export function describeLoraConversionFixtures(
  peftType: string,
  tools: SvdTools,
  svdOf: (caseName: string) => (adapter: string, module: string, path: SvdPath) => LazySvdLike,
): void {
  describe(`${peftType} → LoRA without ΔW, against PEFT's convert_to_lora`, () => {
    const index = conversionJson<{
      cases: { name: string; peft_types: string[]; converted: Record<string, string[]> }[];
    }>("index.json");
    const cases = index.cases.filter(
      (c) => c.peft_types.length === 1 && c.peft_types[0] === peftType && Object.keys(c.converted).length > 0,
    );

    it("has converted cases", () => {
      expect(cases.length).toBeGreaterThanOrEqual(4);
    });

    for (const c of cases) {
      it(c.name, () => {
        const moduleSvd = svdOf(c.name);
        let checked = 0;
        for (const [adapter, tags] of Object.entries(c.converted)) {
          for (const tag of tags) {
            const dir = adapter === "default" ? `${c.name}/${tag}` : `${c.name}/${adapter}/${tag}`;
            const exp = conversionJson<ConversionExpected>(`${dir}/expected.json`);
            const refs = tools.readSafetensorsSync(`${CONVERSION}${dir}/expected.safetensors`).tensors;
            const rank = exp.rank_type === "int" ? { rank: exp.rank } : { threshold: exp.rank };
            for (const m of exp.converted_modules) {
              const e = exp.modules[m]!;
              for (const path of SVD_PATHS) {
                const where = `${dir} ${m} (${path})`;
                const lazy = moduleSvd(adapter, m, path);
                const sv = refs.get(`singular_values/${m}`)!.data;
                expect(worstRelative(lazy.singularValues, sv), where).toBeLessThanOrEqual(1e-4);
                const k = tools.selectLoraRank(lazy.singularValues, rank, m);
                if (e.rank_robust) expect(k, where).toBe(e.effective_rank);
                else {
                  expect(k, where).toBeGreaterThanOrEqual(e.ba_equivalent_ranks[0]);
                  expect(k, where).toBeLessThanOrEqual(e.ba_equivalent_ranks[1]);
                }
                const f = tools.loraFactors(lazy, rank, m);
                expect([f.loraA.shape, f.loraB.shape], where).toEqual([
                  [k, lazy.cols],
                  [lazy.rows, k],
                ]);
                if (k === e.effective_rank) {
                  expect(Math.abs(f.relativeError - e.relative_error), where).toBeLessThanOrEqual(1e-4);
                  if (e.truncation_well_conditioned) {
                    const ba = refs.get(`ba/${m}`)!.data;
                    expect(worstRelative(loraProduct(f.loraB, f.loraA), ba), where).toBeLessThanOrEqual(1e-4);
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
}

/**
 * Checks an SVD of the float64 matrix `delta` against a full SVD of it (`tools.svd`): all singular values, and
 * at every rank k ≤ 8 that sits at a gap of at least 1e-3·σ₀ the triplets (Δ·v = s·u) and the truncation.
 * Tolerances relative to σ₀: 1e-10 for values and triplets (float64, backward-stable algorithms on matrices
 * with sides ≤ 256), 1e-8 for truncations (their vectors are conditioned by 1/gap ≤ 1e3). Returns how many
 * ranks were checked.
 */
export function expectMatchesFullSvd(
  tools: SvdTools,
  lazy: LazySvdLike,
  delta: Matrix<Float64Array>,
  where: string,
): number {
  const ref = tools.svd(delta);
  const s0 = ref.s[0]!;
  const [rows, cols] = [delta.shape[0]!, delta.shape[1]!];
  expect(s0, `${where}: a non-zero ΔW`).toBeGreaterThan(0);
  expect([lazy.rows, lazy.cols, lazy.singularValues.length], where).toEqual([rows, cols, ref.s.length]);
  for (let i = 0; i < ref.s.length; i++)
    expect(Math.abs(lazy.singularValues[i]! - ref.s[i]!), `${where} σ${i}`).toBeLessThanOrEqual(1e-10 * s0);
  let ranks = 0;
  for (let k = 1; k <= Math.min(8, ref.s.length); k++) {
    if ((k < ref.s.length ? ref.s[k - 1]! - ref.s[k]! : ref.s[k - 1]!) < 1e-3 * s0) continue;
    const lead = lazy.leading(k);
    for (let i = 0; i < rows; i++)
      for (let t = 0; t < k; t++) {
        let dv = 0;
        for (let j = 0; j < cols; j++) dv += delta.data[i * cols + j]! * lead.v.data[j * k + t]!;
        expect(Math.abs(dv - lead.s[t]! * lead.u.data[i * k + t]!), `${where} Δ·v = s·u`).toBeLessThanOrEqual(
          1e-10 * s0,
        );
      }
    const got = truncation(lead.u, lead.s, lead.v, k);
    const want = truncation(ref.u, ref.s, ref.v, k);
    for (let i = 0; i < got.length; i++)
      expect(Math.abs(got[i]! - want[i]!), `${where} k=${k}`).toBeLessThanOrEqual(1e-8 * s0);
    ranks++;
  }
  return ranks;
}

/**
 * Checks an SVD against a full float64 SVD of PEFT's own float32 ΔW (`peftDelta`, flattened to
 * `[out, in·∏kernel]`), for layers PEFT refuses to convert (convs). PEFT's ΔW rounds each element to float32
 * (relative 6e-8), ours is float64 from the same factors: singular values agree to 1e-6·(1 + σ₀) (Weyl's
 * bound), B·A at ranks 1, 2, 4 with a gap ≥ 1e-2·σ₀ to 1e-5·(1 + |ref|). Returns how many ranks were checked.
 */
export function expectMatchesPeftDelta(
  tools: SvdTools,
  lazy: LazySvdLike,
  peftDelta: Matrix<Float32Array>,
  where: string,
): number {
  const ref = tools.svd({ data: Float64Array.from(peftDelta.data), shape: peftDelta.shape });
  const s0 = ref.s[0]!;
  expect(s0, `${where}: a non-zero ΔW`).toBeGreaterThan(0);
  for (let i = 0; i < ref.s.length; i++)
    expect(Math.abs(lazy.singularValues[i]! - ref.s[i]!), `${where} σ${i}`).toBeLessThanOrEqual(
      1e-6 * (1 + s0),
    );
  let checked = 0;
  for (const k of [1, 2, 4]) {
    if (k >= ref.s.length || ref.s[k - 1]! - ref.s[k]! < 1e-2 * s0) continue;
    const f = tools.loraFactors(lazy, k);
    const want = truncation(ref.u, ref.s, ref.v, k);
    expect(worstRelative(loraProduct(f.loraB, f.loraA), want), `${where} k=${k}`).toBeLessThanOrEqual(1e-5);
    checked++;
  }
  return checked;
}
