import type { Tensor } from "@lycoris-ts/kernels";
import { lohaVariant } from "@lycoris-ts/loha";
import { lokrVariant } from "@lycoris-ts/lokr";
import { LycorisConfig, type LycorisConfigOptions } from "@lycoris-ts/lycoris-config";
import { AdapterRegistry, type AdapterVariant } from "@lycoris-ts/runtime";
import { describe, expect, it } from "vitest";
import { LycorisFormatError, type PeftAdapterInput, peftToLycoris } from "../src/index";

/**
 * Stand-in LOKR / LOHA variants with the real variants' file hooks (kohya names, rank): peftToLycoris
 * only builds the config through the registry and never rebuilds ΔW, so no math is needed here.
 * The real variants check the numbers on every PEFT fixture in apps/conformance/test/peft-to-lycoris.test.ts.
 */
const stub = (real: AdapterVariant<LycorisConfig>): AdapterVariant<LycorisConfig> => ({
  peftType: real.peftType,
  prefix: real.prefix,
  parameterNames: [],
  createConfig: (o: LycorisConfigOptions) => new LycorisConfig(real.peftType, o),
  parameterLayout: () => ({ params: [] }),
  initParameters: () => ({}),
  deltaWeight: () => {
    throw new Error("not used");
  },
  describeParameters: real.describeParameters!,
  kohya: real.kohya!,
});
const registry = new AdapterRegistry();
registry.register(stub(lokrVariant as unknown as AdapterVariant<LycorisConfig>));
registry.register(stub(lohaVariant as unknown as AdapterVariant<LycorisConfig>));

const t = (shape: number[], start = 1): Tensor<Float32Array> => ({
  data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => start + i),
  shape,
});
const P = "base_model.model.";

function adapter(
  config: Record<string, unknown>,
  weights: Record<string, Tensor<Float32Array>>,
): PeftAdapterInput {
  return { config, weights: new Map(Object.entries(weights).map(([k, v]) => [`${P}${k}`, v])) };
}

function formatError(fn: () => unknown): LycorisFormatError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(LycorisFormatError);
    return error as LycorisFormatError;
  }
  throw new Error("expected a LycorisFormatError");
}

describe("peftToLycoris (structure, alpha, errors)", () => {
  const lokr = adapter(
    { peft_type: "LOKR", r: 4, alpha: 2, rank_pattern: { "^unet.b$": 2 }, alpha_pattern: { "^unet.b$": 6 } },
    {
      // both factors full: loader scale 1, so PEFT's 2/4 goes into lokr_w1
      "unet.a.to_q.lokr_w1": t([2, 2]),
      "unet.a.to_q.lokr_w2": t([3, 3]),
      // W2 low rank (rank 2 from rank_pattern; alpha 6): alpha stored = 3 · 2
      "unet.b.lokr_w1": t([2, 2]),
      "unet.b.lokr_w2_a": t([4, 2]),
      "unet.b.lokr_w2_b": t([2, 4]),
    },
  );

  it("names keys <prefix>_<path below moduleRoot>, stores alpha = scaling·rank, bakes the scale when both LoKr factors are full", () => {
    const out = peftToLycoris(lokr, { registry, prefix: "lora_unet", moduleRoot: "unet" });
    expect([...out.tensors.keys()]).toEqual([
      "lora_unet_a_to_q.lokr_w1",
      "lora_unet_a_to_q.lokr_w2",
      "lora_unet_a_to_q.alpha",
      "lora_unet_b.lokr_w1",
      "lora_unet_b.lokr_w2_a",
      "lora_unet_b.lokr_w2_b",
      "lora_unet_b.alpha",
    ]);
    const alpha = (k: string) => out.tensors.get(`${k}.alpha`)!;
    expect(alpha("lora_unet_a_to_q").shape).toEqual([]);
    expect([...alpha("lora_unet_a_to_q").data]).toEqual([4]);
    expect([...alpha("lora_unet_b").data]).toEqual([6]);
    expect([...out.tensors.get("lora_unet_a_to_q.lokr_w1")!.data]).toEqual([0.5, 1, 1.5, 2]);
    expect([...out.tensors.get("lora_unet_a_to_q.lokr_w2")!.data]).toEqual([...t([3, 3]).data]);
    expect([...out.tensors.get("lora_unet_b.lokr_w1")!.data]).toEqual([1, 2, 3, 4]);
    expect(out.modules).toEqual([
      {
        module: "unet.a.to_q",
        fileKey: "lora_unet_a_to_q",
        algo: "LOKR",
        r: 4,
        alpha: 2,
        storedAlpha: 4,
        scaleBaked: true,
      },
      {
        module: "unet.b",
        fileKey: "lora_unet_b",
        algo: "LOKR",
        r: 2,
        alpha: 6,
        storedAlpha: 6,
        scaleBaked: false,
      },
    ]);
    expect(out.metadata.ss_network_module).toBe("lycoris.kohya");
    expect(JSON.parse(out.metadata.ss_network_args!)).toEqual({ algo: "lokr" });
    expect(out.dropped).toEqual([]);
  });

  it("defaults to the lycoris prefix over the whole model; the input is not changed", () => {
    const before = [...lokr.weights.get(`${P}unet.a.to_q.lokr_w1`)!.data];
    const out = peftToLycoris(lokr, { registry });
    expect([...out.tensors.keys()][0]).toBe("lycoris_unet_a_to_q.lokr_w1");
    expect([...lokr.weights.get(`${P}unet.a.to_q.lokr_w1`)!.data]).toEqual(before);
  });

  it("LoKr rank comes from lokr_w2_b, else lokr_w1_b; LoHa from hada_w1_b", () => {
    const w1low = adapter(
      { peft_type: "LOKR", r: 3, alpha: 1.5 },
      { "m.lokr_w1_a": t([2, 3]), "m.lokr_w1_b": t([3, 2]), "m.lokr_w2": t([2, 2]) },
    );
    expect([...peftToLycoris(w1low, { registry }).tensors.get("lycoris_m.alpha")!.data]).toEqual([1.5]);
    const loha = adapter(
      { peft_type: "LOHA", r: 2, alpha: 1 },
      {
        "m.hada_w1_a": t([3, 2]),
        "m.hada_w1_b": t([2, 3]),
        "m.hada_w2_a": t([3, 2]),
        "m.hada_w2_b": t([2, 3]),
      },
    );
    const out = peftToLycoris(loha, { registry });
    expect([...out.tensors.get("lycoris_m.alpha")!.data]).toEqual([1]);
    expect(out.modules[0]!.algo).toBe("LOHA");
    expect(JSON.parse(out.metadata.ss_network_args!)).toEqual({ algo: "loha" });
  });

  it("writes PEFT's Conv1d Tucker core (r, r, k, 1) as (r, r, k); keeps Conv2d (k, 1) cores; refuses to guess without shapes", () => {
    const conv = adapter(
      { peft_type: "LOKR", r: 2, alpha: 2 },
      {
        "c.lokr_w1": t([2, 2]),
        "c.lokr_t2": t([2, 2, 3, 1]),
        "c.lokr_w2_a": t([2, 2]),
        "c.lokr_w2_b": t([2, 2]),
      },
    );
    const as1d = peftToLycoris(conv, { registry, weightShape: () => [4, 4, 3] });
    expect(as1d.tensors.get("lycoris_c.lokr_t2")!.shape).toEqual([2, 2, 3]);
    const as2d = peftToLycoris(conv, { registry, weightShape: () => [4, 4, 3, 1] });
    expect(as2d.tensors.get("lycoris_c.lokr_t2")!.shape).toEqual([2, 2, 3, 1]);
    const e = formatError(() => peftToLycoris(conv, { registry }));
    expect(e.kind).toBe("not_convertible");
    expect(e.message).toMatch(/module 'c': lokr_t2 \[2, 2, 3, 1\].*base weight shape is needed/);
  });

  it("refuses modules_to_save copies, naming every key; drops saved base-layer copies", () => {
    const mts = adapter(
      { peft_type: "LOKR", r: 2, alpha: 2 },
      { "m.lokr_w1": t([2, 2]), "m.lokr_w2": t([2, 2]), "lm_head.weight": t([2, 2]), "lm_head.bias": t([2]) },
    );
    const e = formatError(() => peftToLycoris(mts, { registry }));
    expect(e.kind).toBe("not_convertible");
    expect(e.module).toBe("lm_head");
    expect(e.message).toContain(`${P}lm_head.weight, ${P}lm_head.bias`);
    const baseCopy = adapter(
      { peft_type: "LOKR", r: 2, alpha: 2 },
      { "m.lokr_w1": t([2, 2]), "m.lokr_w2": t([2, 2]), "m.base_layer.weight": t([4, 4]) },
    );
    const out = peftToLycoris(baseCopy, { registry });
    expect(out.dropped).toEqual([`${P}m.base_layer.weight`]);
    expect([...out.tensors.keys()]).toEqual(["lycoris_m.lokr_w1", "lycoris_m.lokr_w2", "lycoris_m.alpha"]);
  });

  it("errors: colliding keys, modules outside moduleRoot, bad prefix, other peft types, empty adapters", () => {
    const w = { lokr_w1: t([2, 2]), lokr_w2: t([2, 2]) };
    const collide = adapter(
      { peft_type: "LOKR" },
      Object.fromEntries(
        ["a.b_c", "a_b.c"].flatMap((m) => Object.entries(w).map(([n, v]) => [`${m}.${n}`, v])),
      ),
    );
    const c = formatError(() => peftToLycoris(collide, { registry }));
    expect(c.kind).toBe("ambiguous_key");
    expect(c.message).toContain("'a.b_c' and 'a_b.c' both become key 'lycoris_a_b_c'");
    const outside = formatError(() => peftToLycoris(lokr, { registry, moduleRoot: "text_encoder" }));
    expect(outside.kind).toBe("not_convertible");
    expect(outside.message).toContain("not below the module root 'text_encoder'");
    expect(formatError(() => peftToLycoris(lokr, { registry, prefix: "lora.unet" })).message).toContain(
      "not a kohya prefix",
    );
    const lora = adapter({ peft_type: "LORA" }, {});
    expect(formatError(() => peftToLycoris(lora, { registry })).message).toContain("only LOKR and LOHA");
    expect(formatError(() => peftToLycoris(adapter({ peft_type: "LOKR" }, {}), { registry })).kind).toBe(
      "invalid_module",
    );
  });
});
