import { kron, ScratchPool, type Tensor, tensor } from "@lycoris-ts/kernels";
import { lohaVariant } from "@lycoris-ts/loha";
import { lokrVariant } from "@lycoris-ts/lokr";
import { LycorisConfig, type LycorisConfigOptions } from "@lycoris-ts/lycoris-config";
import { AdapterRegistry, type AdapterVariant } from "@lycoris-ts/runtime";
import { serializeSafetensors } from "@lycoris-ts/safetensors";
import { describe, expect, it } from "vitest";
import {
  checkLycorisModuleFits,
  DORA_EPS,
  LycorisFormatError,
  lycorisDeltaWeight,
  mergeLycorisModule,
  readLycorisAdapter,
} from "../src/index";

/**
 * A stand-in LOKR variant (linear layers, 2-D factors only): ΔW = scale · kron(W1, W2), with LoKr's
 * own file hooks (kohya names, structure and rank, layer shapes). The real LoKr math lives in
 * @lycoris-ts/lokr and is checked on the LyCORIS fixtures in apps/conformance; here the stub
 * isolates the reader's rules (names, rank, scale, DoRA, errors).
 */
class StubConfig extends LycorisConfig {
  constructor(o: LycorisConfigOptions = {}) {
    super("LOKR", o);
  }
}
const factor = (p: Readonly<Record<string, Tensor<Float32Array>>>, n: 1 | 2): Tensor<Float32Array> => {
  const full = p[`lokr_w${n}`];
  if (full !== undefined) return full;
  const a = p[`lokr_w${n}_a`]!;
  const b = p[`lokr_w${n}_b`]!;
  const [rows, r] = a.shape as [number, number];
  const cols = b.shape[1]!;
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++)
      for (let k = 0; k < r; k++) out[i * cols + j]! += a.data[i * r + k]! * b.data[k * cols + j]!;
  return { data: out, shape: [rows, cols] };
};
const stubLoKr: AdapterVariant<StubConfig> = {
  peftType: "LOKR",
  prefix: "lokr_",
  parameterNames: ["lokr_w1", "lokr_w1_a", "lokr_w1_b", "lokr_w2", "lokr_w2_a", "lokr_w2_b", "lokr_t2"],
  createConfig: (o) => new StubConfig(o),
  parameterLayout: () => ({ params: [] }),
  initParameters: () => ({}),
  deltaWeight: (p, _ctx, s) => {
    const k = kron(
      factor(p as Readonly<Record<string, Tensor<Float32Array>>>, 1),
      factor(p as Readonly<Record<string, Tensor<Float32Array>>>, 2),
    );
    return { data: k.data.map((v) => v * s), shape: k.shape } as never;
  },
  describeParameters: lokrVariant.describeParameters!,
  layerCandidates: lokrVariant.layerCandidates!,
  kohya: lokrVariant.kohya!,
};
const registry = new AdapterRegistry();
registry.register(stubLoKr);
registry.register(lohaVariant); // only its names: a module mixing LoKr and LoHa tensors

const moduleNames = [
  "unet",
  "unet.proj_in",
  "unet.to_out",
  "unet.to_out.0",
  "text_encoder",
  "text_encoder.fc1",
];
const t = (shape: number[], values?: number[]): Tensor<Float32Array> =>
  tensor(
    Float32Array.from(
      values ?? Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => 0.1 * (i + 1) - 0.3),
    ),
    shape,
  );
const scalar = (v: number): Tensor<Float32Array> => ({ data: Float32Array.of(v), shape: [] });

function read(entries: Record<string, Tensor<Float32Array>>) {
  return readLycorisAdapter(new Map(Object.entries(entries)), { moduleNames, registry });
}

function expectFormatError(fn: () => unknown, kind: string, ...fragments: string[]): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(LycorisFormatError);
    expect((error as LycorisFormatError).kind).toBe(kind);
    for (const f of fragments) expect((error as Error).message).toContain(f);
    return;
  }
  expect.fail(`expected a LycorisFormatError '${kind}'`);
}

describe("readLycorisAdapter: names, rank and scale (kohya loader rules)", () => {
  it("resolves non-invertible '_' names and default prefixes", () => {
    const a = read({
      "lora_unet_to_out_0.lokr_w1": t([2, 2]),
      "lora_unet_to_out_0.lokr_w2": t([2, 2]),
      "lora_te_fc1.lokr_w1": t([2, 2]),
      "lora_te_fc1.lokr_w2": t([2, 2]),
    });
    expect(a.modules.map((m) => [m.fileKey, m.moduleName, m.prefix])).toEqual([
      ["lora_unet_to_out_0", "unet.to_out.0", "lora_unet"],
      ["lora_te_fc1", "text_encoder.fc1", "lora_te"],
    ]);
    expect(a.prefixes).toEqual({ lora_unet: "unet", lora_te: "text_encoder" });
  });

  it("both LoKr factors full: no rank, scale 1, alpha ignored", () => {
    const [m] = read({
      "lora_unet_proj_in.alpha": scalar(8),
      "lora_unet_proj_in.lokr_w1": t([2, 2]),
      "lora_unet_proj_in.lokr_w2": t([2, 2]),
    }).modules;
    expect([m!.rank, m!.alpha, m!.scale, m!.structure]).toEqual([
      null,
      8,
      1,
      { algo: "LOKR", w1: "full", w2: "full" },
    ]);
  });

  it("rank from lokr_w1_b, replaced by lokr_w2_b; scale alpha/rank; no alpha: scale 1", () => {
    const mods = read({
      "lora_unet_proj_in.alpha": scalar(3),
      "lora_unet_proj_in.lokr_w1_a": t([2, 4]),
      "lora_unet_proj_in.lokr_w1_b": t([4, 2]),
      "lora_unet_proj_in.lokr_w2_a": t([2, 2]),
      "lora_unet_proj_in.lokr_w2_b": t([2, 2]),
      "lora_te_fc1.lokr_w1_a": t([2, 3]),
      "lora_te_fc1.lokr_w1_b": t([3, 2]),
      "lora_te_fc1.lokr_w2": t([2, 2]),
    }).modules;
    expect(mods.map((m) => [m.rank, m.scale])).toEqual([
      [2, 1.5],
      [3, 1],
    ]);
  });

  /** A LoKr module with a full `lokr_w1`, a low-rank `lokr_w2` and alpha 1 on `unet.proj_in`. */
  const lowRankW2Module = () =>
    read({
      "lora_unet_proj_in.alpha": scalar(1),
      "lora_unet_proj_in.lokr_w1": t([2, 2]),
      "lora_unet_proj_in.lokr_w2_a": t([2, 2]),
      "lora_unet_proj_in.lokr_w2_b": t([2, 2]),
    }).modules[0];

  it("delta(m) = m · scale · kron(W1, W2); merged = W0 + delta(1)", () => {
    const m = lowRankW2Module();
    const raw = kron(t([2, 2]), factor({ lokr_w2_a: t([2, 2]), lokr_w2_b: t([2, 2]) }, 2));
    const w0 = t([4, 4]);
    const d = lycorisDeltaWeight(m!, w0, 0.5);
    // float32 products of the same factors: equal within 1e-6 relative
    d.data.forEach((v, i) => {
      expect(v).toBeCloseTo(0.5 * 0.5 * raw.data[i]!, 6);
    });
    const merged = mergeLycorisModule(m!, w0);
    merged.data.forEach((v, i) => {
      expect(v).toBeCloseTo(w0.data[i]! + 0.5 * raw.data[i]!, 6);
    });
  });

  it("into a caller's buffer with ΔW in a reused scratch pool (both NaN-prefilled): the same bits", () => {
    const m = lowRankW2Module();
    const w0 = t([4, 4]);
    const scratch = new ScratchPool();
    scratch.take(20).fill(Number.NaN);
    const out = new Float32Array(20).fill(Number.NaN);
    const fresh = mergeLycorisModule(m!, w0, 0.5);
    const reused = mergeLycorisModule(m!, w0, 0.5, { out, scratch });
    expect(reused.data.buffer).toBe(out.buffer);
    // tolerance 0: the same float operations, only the memory differs
    expect(Array.from(reused.data)).toEqual(Array.from(fresh.data));
    expect(() => mergeLycorisModule(m!, w0, 1, { out: new Float32Array(15) })).toThrow(/out holds 15 values/);
  });
});

describe("DoRA (ComfyUI's rules)", () => {
  const w0 = t([4, 4], [1, -2, 0.5, 3, 0, 1, 1, -1, 2, 2, -2, 0.25, -1, 0.5, 0.5, 4]);
  const factors = { "lora_unet_proj_in.lokr_w1": t([2, 2]), "lora_unet_proj_in.lokr_w2": t([2, 2]) };
  const raw = kron(t([2, 2]), t([2, 2]));
  const magnitude = [1.5, 2, 0.5, 3];

  it("output axis: W' = (W0 + ΔW) · dora_scale / (‖W0 row‖ + ε); W(m) = W0 + m(W' − W0)", () => {
    const [m] = read({ ...factors, "lora_unet_proj_in.dora_scale": t([4, 1], magnitude) }).modules;
    const expected = new Float64Array(16);
    for (let o = 0; o < 4; o++) {
      const norm = Math.hypot(...Array.from(w0.data.subarray(o * 4, o * 4 + 4)));
      for (let j = 0; j < 4; j++)
        expected[o * 4 + j] =
          ((w0.data[o * 4 + j]! + raw.data[o * 4 + j]!) * magnitude[o]!) / (norm + DORA_EPS);
    }
    const merged = mergeLycorisModule(m!, w0);
    const half = lycorisDeltaWeight(m!, w0, 0.5);
    // float32 results of a float64 formula: 1e-6 relative
    expected.forEach((e, i) => {
      expect(merged.data[i]).toBeCloseTo(e, 5);
      expect(half.data[i]).toBeCloseTo(0.5 * (e - w0.data[i]!), 5);
    });
  });

  it("input axis: norms over each input column of W0 + ΔW", () => {
    const [m] = read({ ...factors, "lora_unet_proj_in.dora_scale": t([1, 4], magnitude) }).modules;
    const wd = Array.from(w0.data, (v, i) => v + raw.data[i]!);
    const norms = [0, 1, 2, 3].map((j) => Math.hypot(wd[j]!, wd[4 + j]!, wd[8 + j]!, wd[12 + j]!));
    const merged = mergeLycorisModule(m!, w0);
    // float32 results of a float64 formula: 1e-6 relative
    wd.forEach((v, i) => {
      expect(merged.data[i]).toBeCloseTo((v * magnitude[i % 4]!) / (norms[i % 4]! + DORA_EPS), 5);
    });
  });

  it("needs the base weight, not only its shape", () => {
    const [m] = read({ ...factors, "lora_unet_proj_in.dora_scale": t([4, 1], magnitude) }).modules;
    expectFormatError(() => lycorisDeltaWeight(m!, [4, 4]), "missing_tensor", "unet.proj_in", "dora_scale");
  });
});

describe("typed errors", () => {
  it("unknown tensor names", () => {
    expectFormatError(
      () => read({ "lora_unet_proj_in.lora_down.weight": t([2, 4]) }),
      "unknown_key",
      "lora_down.weight",
    );
  });
  it("a key that names no module", () => {
    expectFormatError(
      () => read({ "lora_unet_nope.lokr_w1": t([2, 2]), "lora_unet_nope.lokr_w2": t([2, 2]) }),
      "unmatched_key",
      "lora_unet_nope",
    );
  });
  it("missing tensors", () => {
    expectFormatError(
      () => read({ "lora_unet_proj_in.lokr_w1_a": t([2, 1]), "lora_unet_proj_in.lokr_w2": t([2, 2]) }),
      "missing_tensor",
      "lokr_w1_b",
      "unet.proj_in",
    );
    expectFormatError(() => read({ "lora_unet_proj_in.lokr_w1": t([2, 2]) }), "missing_tensor", "lokr_w2_a");
  });
  it("LoKr and LoHa tensors in one module", () => {
    expectFormatError(
      () => read({ "lora_unet_proj_in.lokr_w1": t([2, 2]), "lora_unet_proj_in.hada_w1_a": t([2, 2]) }),
      "invalid_module",
    );
  });
  it("factors that do not fit each other", () => {
    expectFormatError(
      () =>
        read({
          "lora_unet_proj_in.lokr_w1_a": t([2, 3]),
          "lora_unet_proj_in.lokr_w1_b": t([2, 2]),
          "lora_unet_proj_in.lokr_w2": t([2, 2]),
        }),
      "shape_mismatch",
      "[2, 3]",
      "[2, 2]",
    );
  });
  it("a base weight the factors do not fit: names the module and both shapes", () => {
    const bytes = serializeSafetensors({
      "lora_unet_proj_in.lokr_w1": t([2, 2]),
      "lora_unet_proj_in.lokr_w2": t([2, 2]),
    });
    const [m] = readLycorisAdapter(bytes, { moduleNames, registry }).modules;
    const err = checkLycorisModuleFits(m!, [4, 6]);
    expect(err?.kind).toBe("shape_mismatch");
    expect(err?.message).toContain("unet.proj_in");
    expect(err?.message).toContain("[4, 6]");
    expect(err?.message).toContain("lokr_w2 [2, 2]");
    expect(checkLycorisModuleFits(m!, [4, 4])).toBeNull();
    expectFormatError(() => lycorisDeltaWeight(m!, t([4, 6])), "shape_mismatch", "[4, 6]");
  });
});
