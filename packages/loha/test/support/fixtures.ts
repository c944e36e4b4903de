import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ConvOptions, Tensor } from "@lycoris-ts/kernels";
import { readSafetensorsSync } from "@lycoris-ts/safetensors";
import type { LoHaLayerShape } from "../../src/functional/index";

/** Root of the public PEFT fixtures. */
export const FIXTURES = new URL("../../../../fixtures/peft/", import.meta.url);

export function fixturePath(rel: string): string {
  return fileURLToPath(new URL(rel, FIXTURES));
}

export function readJson<T>(rel: string): T {
  return JSON.parse(readFileSync(fixturePath(rel), "utf8")) as T;
}

export interface ModuleDesc {
  readonly name: string;
  readonly kind: string;
  readonly in_features?: number;
  readonly out_features?: number;
  readonly in_channels?: number;
  readonly out_channels?: number;
  readonly kernel_size?: number[];
  readonly stride?: number[];
  readonly padding?: number[] | "same" | "valid";
  readonly dilation?: number[];
  readonly groups?: number;
  readonly padding_mode?: "zeros" | "reflect" | "replicate" | "circular";
}

export interface ModelJson {
  readonly modules: ModuleDesc[];
}

export interface AdapterExpectation {
  readonly peft_type: string;
  readonly r: number;
  readonly alpha: number;
  readonly scaling: number;
  readonly params: Record<string, number[]>;
  readonly num_params: number;
  readonly structure: { effective_conv?: boolean };
}

export interface ExpectedJson {
  readonly adapters: string[];
  readonly active_adapters: string[];
  readonly targeted_modules: string[];
  readonly modules: Record<
    string,
    { kind: string; weight_shape: number[]; adapters: Record<string, AdapterExpectation> }
  >;
  readonly adapter_files: Record<string, { config: string; weights: string }>;
}

export interface CaseJson {
  readonly adapters: { name: string; peft_type: string; config: Record<string, unknown> }[];
}

export interface IndexJson {
  readonly cases: { name: string; peft_types: string[] }[];
}

/** Names of every fixture case that uses LoHa. */
export function lohaCaseNames(): string[] {
  return readJson<IndexJson>("index.json")
    .cases.filter((c) => c.peft_types.includes("LOHA"))
    .map((c) => c.name);
}

/** The functional layer shape of a model.json module. */
export function layerShapeOf(m: ModuleDesc): LoHaLayerShape {
  if (m.kind === "linear") {
    return {
      kind: "linear",
      outFeatures: m.out_features ?? 0,
      inFeatures: m.in_features ?? 0,
      kernelSize: [],
    };
  }
  if (m.kind !== "conv1d" && m.kind !== "conv2d") throw new Error(`not a LoHa layer kind: ${m.kind}`);
  const groups = m.groups ?? 1;
  return {
    kind: m.kind,
    outFeatures: m.out_channels ?? 0,
    inFeatures: (m.in_channels ?? 0) / groups,
    kernelSize: m.kernel_size ?? [],
    groups,
  };
}

/** The conv geometry of a model.json conv module. */
export function convGeometryOf(m: ModuleDesc): ConvOptions {
  return {
    stride: m.stride ?? [],
    padding: m.padding ?? [],
    dilation: m.dilation ?? [],
    groups: m.groups ?? 1,
    paddingMode: m.padding_mode ?? "zeros",
  };
}

/** Everything a test needs from one fixture case. */
export interface LoadedCase {
  readonly name: string;
  readonly caseJson: CaseJson;
  readonly model: ModelJson;
  readonly expected: ExpectedJson;
  module(name: string): ModuleDesc;
  /** Adapter `name`'s config kwargs as given in case.json. */
  adapterConfig(name: string): Record<string, unknown>;
  /** The LoHa factors of `adapter` on `module`, from the saved adapter file. */
  factors(adapter: string, module: string): Record<string, Tensor<Float32Array>>;
  expectedTensor(key: string): Tensor<Float32Array>;
  input(module: string): Tensor<Float32Array>;
  base(key: string): Tensor<Float32Array>;
}

export function loadCase(name: string): LoadedCase {
  const caseJson = readJson<CaseJson>(`${name}/case.json`);
  const model = readJson<ModelJson>(`${name}/model.json`);
  const expected = readJson<ExpectedJson>(`${name}/expected.json`);
  const files = new Map<string, Map<string, Tensor<Float32Array>>>();
  const file = (rel: string) => {
    let f = files.get(rel);
    if (f === undefined) {
      f = readSafetensorsSync(fixturePath(`${name}/${rel}`)).tensors;
      files.set(rel, f);
    }
    return f;
  };
  const get = (rel: string, key: string) => {
    const t = file(rel).get(key);
    if (t === undefined) throw new Error(`${name}/${rel} has no tensor ${key}`);
    return t;
  };
  return {
    name,
    caseJson,
    model,
    expected,
    module(m) {
      const d = model.modules.find((x) => x.name === m);
      if (d === undefined) throw new Error(`${name}: no module ${m}`);
      return d;
    },
    adapterConfig(a) {
      const d = caseJson.adapters.find((x) => x.name === a);
      if (d === undefined) throw new Error(`${name}: no adapter ${a}`);
      return d.config;
    },
    factors(adapter, module) {
      const rel = expected.adapter_files[adapter]?.weights;
      if (rel === undefined) throw new Error(`${name}: no adapter file for ${adapter}`);
      const prefix = `base_model.model.${module}.`;
      const out: Record<string, Tensor<Float32Array>> = {};
      for (const [k, t] of file(rel)) {
        if (k.startsWith(prefix) && !k.slice(prefix.length).includes(".")) out[k.slice(prefix.length)] = t;
      }
      return out;
    },
    expectedTensor: (key) => get("expected.safetensors", key),
    input: (m) => get("inputs.safetensors", m),
    base: (key) => get("base.safetensors", key),
  };
}

/**
 * Largest `|a − e| / (1e-5·max|e| + 1e-4·|e|)` (FORMAT.md's suggested per-tensor tolerance as a
 * ratio: ≤ 1 passes); Infinity on length mismatch or NaN.
 */
export function formatTolRatio(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let maxAbs = 0;
  for (let i = 0; i < expected.length; i++) maxAbs = Math.max(maxAbs, Math.abs(expected[i] ?? 0));
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const e = expected[i] ?? 0;
    const tol = 1e-5 * maxAbs + 1e-4 * Math.abs(e);
    const err = Math.abs((actual[i] ?? 0) - e);
    const ratio = tol === 0 ? (err === 0 ? 0 : Number.POSITIVE_INFINITY) : err / tol;
    if (Number.isNaN(ratio)) return Number.POSITIVE_INFINITY;
    if (ratio > worst) worst = ratio;
  }
  return worst;
}

/** Largest `|a − e| / (1 + |e|)` over two equally long arrays (Infinity on length mismatch). */
export function maxRelErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const e = expected[i] ?? 0;
    const err = Math.abs((actual[i] ?? 0) - e) / (1 + Math.abs(e));
    if (Number.isNaN(err)) return Number.POSITIVE_INFINITY;
    if (err > worst) worst = err;
  }
  return worst;
}
