// Test-only helpers that read the PEFT LoRA fixtures copied into the repo (fixtures/peft-lora, format in
// its FORMAT.md). Every expected value comes from the fixture files.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Tensor } from "@lycoris-ts/kernels";
import { decodeTensorBytes, parseSafetensorsHeader } from "@lycoris-ts/safetensors";
import type { LoraConvGeometry, LoraLayerShape } from "../../src/functional";

export const fixturesDir = fileURLToPath(new URL("../../../../fixtures/peft-lora/", import.meta.url));

export function readJson<T = Record<string, unknown>>(...relative: string[]): T {
  return JSON.parse(readFileSync(join(fixturesDir, ...relative), "utf8")) as T;
}

/** Every case of index.json whose adapters are all LoRA. */
export function loraCaseNames(): string[] {
  const index = readJson<{ cases: { name: string; peft_types: string[] }[] }>("index.json");
  return index.cases.filter((c) => c.peft_types.every((t) => t === "LORA")).map((c) => c.name);
}

/** A safetensors file's tensors as float32; int64 token ids become float32 integers (the runtime's ids). */
export function readTensors(...relative: string[]): Map<string, Tensor<Float32Array>> {
  const bytes = readFileSync(join(fixturesDir, ...relative));
  const out = new Map<string, Tensor<Float32Array>>();
  for (const t of parseSafetensorsHeader(bytes).tensors) {
    const raw = bytes.subarray(t.byteOffset, t.byteOffset + t.byteLength);
    if (t.dtype === "I64") {
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const ids = Float32Array.from({ length: raw.length / 8 }, (_, i) =>
        Number(view.getBigInt64(8 * i, true)),
      );
      out.set(t.name, { data: ids, shape: [...t.shape] });
    } else {
      out.set(t.name, decodeTensorBytes(t.name, t.dtype, t.shape, raw));
    }
  }
  return out;
}

export interface ExpectedAdapter {
  r: number;
  alpha: number;
  scaling: number;
  fan_in_fan_out: boolean;
  params: Record<string, number[]>;
  delta_error?: { exception: string; message: string };
}

export interface ExpectedJson {
  adapters: string[];
  active_adapters: string[];
  modules: Record<
    string,
    { kind: string; weight_shape: number[]; adapters: Record<string, ExpectedAdapter> }
  >;
  merge_error: { exception: string; message: string } | null;
}

/**
 * PEFT's suggested tolerance for an independent float32 implementation (FORMAT.md): the worst
 * |actual − expected| / (1e-5 · (1 + |expected|)) over a tensor; ≤ 1 passes.
 */
export function worstViolation(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const err = Math.abs(actual[i]! - e) / (1e-5 * (1 + Math.abs(e)));
    worst = Number.isNaN(err) ? Number.POSITIVE_INFINITY : Math.max(worst, err);
  }
  return worst;
}

/** A `model.json` module entry (snake_case, as written). */
export interface ModelModule {
  name: string;
  kind: string;
  in_features?: number;
  out_features?: number;
  in_channels?: number;
  out_channels?: number;
  kernel_size?: number[];
  stride?: number[];
  padding?: number[] | "same" | "valid";
  dilation?: number[];
  groups?: number;
  nx?: number;
  nf?: number;
  num_embeddings?: number;
  embedding_dim?: number;
}

/** The LoRA math's view of a fixture module (a conv's `inFeatures` is all its input channels). */
export function layerShapeOf(m: ModelModule): LoraLayerShape {
  switch (m.kind) {
    case "linear":
      return {
        kind: "linear",
        outFeatures: m.out_features!,
        inFeatures: m.in_features!,
        kernelSize: [],
        groups: 1,
      };
    case "gpt2_conv1d":
      return { kind: "gpt2_conv1d", outFeatures: m.nf!, inFeatures: m.nx!, kernelSize: [], groups: 1 };
    case "embedding":
      return {
        kind: "embedding",
        outFeatures: m.embedding_dim!,
        inFeatures: m.num_embeddings!,
        kernelSize: [],
        groups: 1,
      };
    case "conv1d":
    case "conv2d":
      return {
        kind: m.kind,
        outFeatures: m.out_channels!,
        inFeatures: m.in_channels!,
        kernelSize: m.kernel_size!,
        groups: m.groups ?? 1,
      };
    default:
      throw new Error(`module ${m.name}: kind ${m.kind} is not a LoRA layer kind`);
  }
}

/** The base conv's geometry; PEFT's LoRA path always pads with zeros. */
export function convGeometryOf(m: ModelModule): LoraConvGeometry | undefined {
  if (m.kind !== "conv1d" && m.kind !== "conv2d") return undefined;
  return {
    stride: m.stride!,
    padding: m.padding!,
    dilation: m.dilation!,
    groups: m.groups ?? 1,
    paddingMode: "zeros",
  };
}
