import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type LazySvd, type Tensor, tensor } from "@lycoris-ts/kernels";
import { LycorisConfig } from "@lycoris-ts/lycoris-config";
import { readSafetensorsSync } from "@lycoris-ts/safetensors";
import { describe, expect, it } from "vitest";
import {
  type AdapterContext,
  AdapterError,
  type AdapterVariant,
  layerDeltaSvd,
  loraFactors,
  lowRankReport,
  resolveLoraRank,
  selectLoraRank,
  thresholdRank,
} from "../src/index";

// PEFT's own convert_to_lora output (fixtures/peft-lora-conversion, FORMAT.md there).
const ROOT = fileURLToPath(new URL("../../../fixtures/peft-lora-conversion/", import.meta.url));

interface Attempt {
  adapter: string;
  rank: number;
  rank_type: "int" | "float";
  tag: string;
  status: "ok" | "error";
  dir: string | null;
  stage?: string;
  exception?: string;
  message?: string;
}
interface ConversionJson {
  svd_dims: number[];
  attempts: Attempt[];
}
interface ModuleExpectation {
  max_rank: number;
  effective_rank: number;
  relative_error_theory: number;
  energy_fraction_at_rank: number;
}
interface ExpectedJson {
  rank: number;
  rank_type: "int" | "float";
  converted_modules: string[];
  modules: Record<string, ModuleExpectation>;
}

const json = <T>(rel: string): T => JSON.parse(readFileSync(`${ROOT}${rel}`, "utf8")) as T;
const cases = readdirSync(ROOT, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();
const spec = (a: { rank: number; rank_type: "int" | "float" }) =>
  a.rank_type === "int" ? { rank: a.rank } : { threshold: a.rank };

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("the LoRA rank rules against PEFT's convert_to_lora fixtures", () => {
  it("fixtures are present", () => {
    expect(cases.length).toBeGreaterThan(30);
  });

  // Exact: the rule runs on PEFT's own float32 singular values, so even the decisions FORMAT.md calls fragile
  // (threshold 1.0 on rank-deficient deltas) must come out as PEFT's.
  it("the float32 threshold rule on PEFT's singular values gives PEFT's rank for every module, exactly", () => {
    let checked = 0;
    for (const c of cases) {
      for (const a of json<ConversionJson>(`${c}/conversion.json`).attempts) {
        if (a.status !== "ok" || a.rank_type !== "float") continue;
        const expected = json<ExpectedJson>(`${a.dir}/expected.json`);
        const tensors = readSafetensorsSync(`${ROOT}${a.dir}/expected.safetensors`).tensors;
        for (const m of expected.converted_modules) {
          const s = tensors.get(`singular_values/${m}`)!.data;
          expect(thresholdRank(s, a.rank), `${a.dir} ${m}`).toBe(expected.modules[m]!.effective_rank);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(300);
  });

  // float64 sums of PEFT's float32 singular values against PEFT's float64 evaluation of the same formula:
  // only summation order differs, so 1e-12 absolute on quantities in [0, 1].
  it("the per-layer report matches PEFT's energy fraction and relative_error_theory", () => {
    for (const c of ["lokr-linear-full", "loha-linear", "lokr-linear-lowrank-w2"]) {
      for (const tag of ["rank-2", "rank-0.9"]) {
        const expected = json<ExpectedJson>(`${c}/${tag}/expected.json`);
        const tensors = readSafetensorsSync(`${ROOT}${c}/${tag}/expected.safetensors`).tensors;
        for (const m of expected.converted_modules) {
          const e = expected.modules[m]!;
          const r = lowRankReport(tensors.get(`singular_values/${m}`)!.data, e.effective_rank);
          expect(r.rank).toBe(e.effective_rank);
          expect(Math.abs(r.energyKept - e.energy_fraction_at_rank)).toBeLessThanOrEqual(1e-12);
          expect(Math.abs(r.relativeError - e.relative_error_theory)).toBeLessThanOrEqual(1e-12);
        }
      }
    }
  });

  it("refuses the ranks PEFT refuses, with PEFT's messages, in PEFT's order (first too-small layer)", () => {
    let checked = 0;
    for (const c of cases) {
      const conv = json<ConversionJson>(`${c}/conversion.json`);
      for (const a of conv.attempts) {
        if (a.status !== "error" || a.stage !== "convert_to_lora" || a.exception !== "ValueError") continue;
        if (a.message!.startsWith("`layers_to_transform`")) continue; // LoraConfig validation, not a rank rule
        // Each layer in model order with its svd_dims singular values (values are irrelevant to these refusals).
        const err = thrown(() => {
          for (const [i, dim] of conv.svd_dims.entries())
            selectLoraRank(new Float64Array(dim), spec(a), `layer ${i}`);
        });
        expect(err, `${c} ${a.tag}`).toBeInstanceOf(AdapterError);
        expect((err as AdapterError).kind).toBe("invalid_rank");
        expect((err as AdapterError).message, `${c} ${a.tag}`).toBe(a.message);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(50);
  });

  it("refuses a negative rank (PEFT accepts it and writes a config that cannot be loaded)", () => {
    const c = json<ConversionJson>("lokr-linear-full/conversion.json");
    const a = c.attempts.find((x) => x.tag === "rank--1")!;
    expect([a.stage, a.exception]).toEqual(["get_peft_model", "ValueError"]);
    const err = thrown(() => resolveLoraRank(-1));
    expect(err).toBeInstanceOf(AdapterError);
    expect((err as AdapterError).kind).toBe("invalid_rank");
    expect((err as AdapterError).message).toMatch(/positive integer.*got -1/);
    expect(() => resolveLoraRank({ rank: 2.5 })).toThrow(AdapterError);
  });

  it("plain numbers: integers are fixed ranks, others thresholds; 1.0 as a threshold is explicit", () => {
    expect(resolveLoraRank(1)).toEqual({ rank: 1 });
    expect(resolveLoraRank(0.25)).toEqual({ threshold: 0.25 });
    expect(resolveLoraRank({ threshold: 1 })).toEqual({ threshold: 1 });
    expect(() => resolveLoraRank(Number.NaN)).toThrow(
      "If rank is a float, it is interpreted as a threshold. It must be between 0 and 1 but got nan.",
    );
  });

  it("the threshold rule: a zero ΔW keeps rank 1; non-finite singular values are refused", () => {
    expect(thresholdRank([0, 0, 0], 0.5)).toBe(1);
    expect(() => thresholdRank([Number.NaN, 1], 0.5)).toThrow(AdapterError);
    expect(() => selectLoraRank([Number.POSITIVE_INFINITY, 1], 1)).toThrow("ΔW is not finite");
  });
});

describe("layerDeltaSvd and loraFactors", () => {
  class PlainConfig extends LycorisConfig {
    constructor() {
      super("PLAIN", {});
    }
  }
  // A variant without deltaWeightSvd: ΔW = scaling · p (a [3, 2, 2] conv weight, flattened to [3, 4]).
  const plain: AdapterVariant<PlainConfig> = {
    peftType: "PLAIN",
    prefix: "plain_",
    parameterNames: ["plain_w"],
    createConfig: () => new PlainConfig(),
    parameterLayout: () => ({ params: [["plain_w", [3, 2, 2]]] }),
    initParameters: () => ({}),
    deltaWeight: (params, _ctx, scaling) =>
      ({ data: params.plain_w!.data.map((x) => x * scaling), shape: params.plain_w!.shape }) as never,
  };
  const ctx: AdapterContext<PlainConfig> = {
    config: new PlainConfig(),
    r: 1,
    alpha: 1,
    layer: {
      kind: "conv1d",
      outFeatures: 3,
      inFeatures: 2,
      kernelSize: [2],
      groups: 1,
      weightShape: [3, 2, 2],
      conv: null,
    },
  };

  // w = diag-like: rows are orthogonal with norms 3, 2, 1 (so ΔW = 2·w has singular values 6, 4, 2).
  const w: Tensor<Float32Array> = tensor(new Float32Array([3, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1]), [3, 2, 2]);

  // Exact small integers: float64 SVD error is ~1e-15, float32 factors round at ~6e-8 relative.
  it("falls back to materialising ΔW and a full SVD, flattened to [out, in·k]", () => {
    const svd: LazySvd = layerDeltaSvd(plain, { plain_w: w }, ctx, 2);
    expect([svd.rows, svd.cols]).toEqual([3, 4]);
    expect([...svd.singularValues].map((x) => Math.round(x * 1e9) / 1e9)).toEqual([6, 4, 2]);
    const f = loraFactors(svd, 2);
    expect(f.loraB.shape).toEqual([3, 2]);
    expect(f.loraA.shape).toEqual([2, 4]);
    const ba = new Float64Array(12);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 4; j++)
        for (let t = 0; t < 2; t++)
          ba[i * 4 + j] = ba[i * 4 + j]! + f.loraB.data[i * 2 + t]! * f.loraA.data[t * 4 + j]!;
    const want = [6, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0];
    for (let i = 0; i < 12; i++) expect(Math.abs(ba[i]! - want[i]!)).toBeLessThanOrEqual(1e-6);
    expect(f.energyKept).toBeCloseTo(52 / 56, 12);
    expect(f.relativeError).toBeCloseTo(Math.sqrt(4 / 56), 12);
  });

  it("transposes the input-major ΔW of a GPT-2 Conv1D ([in, out]) to [out, in]", () => {
    const gpt2 = {
      ...ctx,
      layer: { ...ctx.layer, kind: "gpt2_conv1d" as const, outFeatures: 3, inFeatures: 4 },
    };
    const dw: Tensor<Float32Array> = tensor(new Float32Array([1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 3]), [4, 3]);
    const svd = layerDeltaSvd(plain, { plain_w: dw }, gpt2, 1);
    expect([svd.rows, svd.cols]).toEqual([3, 4]);
    const f = loraFactors(svd, 3);
    // B·A = ΔWᵀ: entry [o, i] = ΔW[i, o]; exact small integers, float32 factors (1e-6).
    for (let o = 0; o < 3; o++)
      for (let i = 0; i < 4; i++) {
        let ba = 0;
        for (let t = 0; t < 3; t++) ba += f.loraB.data[o * 3 + t]! * f.loraA.data[t * 4 + i]!;
        expect(Math.abs(ba - dw.data[i * 3 + o]!)).toBeLessThanOrEqual(1e-6);
      }
  });

  it("uses the variant's deltaWeightSvd when it has one", () => {
    let called = 0;
    const withHook: AdapterVariant<PlainConfig> = {
      ...plain,
      deltaWeightSvd: (params, c, scaling, opts) => {
        called++;
        expect(opts).toEqual({ path: "structured" });
        return layerDeltaSvd(plain, params, c, scaling);
      },
    };
    layerDeltaSvd(withHook, { plain_w: w }, ctx, 1, { path: "structured" });
    expect(called).toBe(1);
  });

  it("refuses a rank larger than min(out, in·k) with PEFT's message", () => {
    const svd = layerDeltaSvd(plain, { plain_w: w }, ctx, 1);
    expect(() => loraFactors(svd, 4)).toThrow(
      "The chosen rank 4 is larger than the weight shape (3), please choose a lower rank.",
    );
  });
});
