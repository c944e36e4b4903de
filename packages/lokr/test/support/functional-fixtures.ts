// Test-only helpers that read the PEFT fixture directory (fixtures/peft, format in FORMAT.md) for the
// functional tests. Everything expected comes from the fixture files; nothing is copied into code.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ConvOptions } from "@lycoris-ts/kernels";
import type { LoKrLayerShape, LoKrShapeOptions } from "../../src/functional";

export const fixturesDir = fileURLToPath(new URL("../../../../fixtures/peft/", import.meta.url));

export function readJson<T>(relative: string): T {
  return JSON.parse(readFileSync(`${fixturesDir}${relative}`, "utf8")) as T;
}

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
  padding_mode?: "zeros" | "reflect" | "replicate" | "circular";
}

export interface ModelJson {
  modules: ModelModule[];
}

export interface ExpectedAdapter {
  peft_type: string;
  r: number;
  alpha: number;
  scaling: number;
  params: Record<string, number[]>;
  num_params: number;
  structure: { w1: string; w2: string };
  factorization: { out: [number, number]; in: [number, number] };
}

export interface ExpectedJson {
  adapters: string[];
  active_adapters: string[];
  modules: Record<
    string,
    { kind: string; weight_shape: number[]; adapters: Record<string, ExpectedAdapter> }
  >;
  adapter_files: Record<string, { config: string; weights: string }>;
}

export interface AdapterConfigJson {
  peft_type: string;
  decompose_both: boolean;
  decompose_factor: number;
  use_effective_conv2d: boolean;
  init_weights: boolean | "lycoris";
}

export function lokrCaseNames(): string[] {
  const index = readJson<{ cases: { name: string; peft_types: string[] }[] }>("index.json");
  return index.cases
    .filter((c) => c.peft_types.length === 1 && c.peft_types[0] === "LOKR")
    .map((c) => c.name);
}

export function layerShapeOf(m: ModelModule): LoKrLayerShape {
  if (m.kind === "linear") {
    return { kind: "linear", outFeatures: m.out_features!, inFeatures: m.in_features!, kernelSize: [] };
  }
  if (m.kind === "conv1d" || m.kind === "conv2d") {
    const groups = m.groups ?? 1;
    return {
      kind: m.kind,
      outFeatures: m.out_channels!,
      inFeatures: m.in_channels! / groups,
      kernelSize: m.kernel_size!,
      groups,
    };
  }
  throw new Error(`module ${m.name}: kind ${m.kind} is not a LoKr layer kind`);
}

export function convGeometryOf(m: ModelModule): ConvOptions | undefined {
  if (m.kind !== "conv1d" && m.kind !== "conv2d") return undefined;
  return {
    stride: m.stride!,
    padding: m.padding!,
    dilation: m.dilation!,
    groups: m.groups ?? 1,
    paddingMode: m.padding_mode ?? "zeros",
  };
}

export function shapeOptionsOf(config: AdapterConfigJson, r: number): LoKrShapeOptions {
  return {
    r,
    decomposeBoth: config.decompose_both,
    decomposeFactor: config.decompose_factor,
    useEffectiveConv2d: config.use_effective_conv2d,
  };
}

/** PEFT's suggested per-element tolerance for float32 results: |ours − PEFT| ≤ 1e-5 · (1 + |PEFT|). */
export function worstViolation(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const err = Math.abs(actual[i]! - e) / (1e-5 * (1 + Math.abs(e)));
    if (!(err <= worst)) worst = Number.isNaN(err) ? Number.POSITIVE_INFINITY : Math.max(worst, err);
  }
  return worst;
}
