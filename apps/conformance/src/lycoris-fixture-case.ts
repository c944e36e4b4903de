import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type ConvOptions, conv1d, conv2d, matmul, type Tensor } from "@lycoris-ts/kernels";
import { readSafetensorsSync } from "@lycoris-ts/safetensors";

/** One entry of `fixtures/lycoris/index.json`. */
export interface LycorisCaseEntry {
  readonly name: string;
  readonly peft_conversion: null | "converted" | "not_convertible";
}

/** The parts of a LyCORIS case's `expected.json` the checks use. */
export interface LycorisExpectedJson {
  readonly prefixes: Record<string, string>;
  readonly key_map: Record<string, string>;
  readonly targeted_modules: readonly string[];
  readonly strengths: readonly number[];
  readonly metadata: Record<string, string>;
  readonly modules: Record<
    string,
    {
      readonly file_key: string;
      readonly kind: "linear" | "conv1d" | "conv2d";
      readonly weight_shape: number[];
      readonly algo: "lokr" | "loha";
      readonly alpha: number | null;
      readonly rank: number | null;
      readonly scale: number;
      readonly dora: null | { readonly axis: "output" | "input" };
    }
  >;
  readonly peft_conversion: null | { readonly status: string; readonly reason?: string };
}

/** A `model.json` module entry (only the fields the checks use). */
export interface LycorisModelModule {
  readonly name: string;
  readonly kind: string;
  readonly stride?: number[];
  readonly padding?: number[];
  readonly dilation?: number[];
  readonly groups?: number;
}

/** Everything of one fixture case, loaded. */
export interface LycorisCase {
  readonly name: string;
  readonly dir: string;
  readonly entry: LycorisCaseEntry;
  readonly expected: LycorisExpectedJson;
  readonly modelModules: readonly LycorisModelModule[];
  readonly adapterBytes: Uint8Array;
  readonly base: Map<string, Tensor<Float32Array>>;
  readonly inputs: Map<string, Tensor<Float32Array>>;
  readonly tensors: Map<string, Tensor<Float32Array>>;
}

/** The cases listed in `<root>/index.json`, in order. */
export function lycorisCaseEntries(root: string): LycorisCaseEntry[] {
  return (JSON.parse(readFileSync(join(root, "index.json"), "utf8")) as { cases: LycorisCaseEntry[] }).cases;
}

/** Loads a case's files. */
export function loadLycorisCase(root: string, entry: LycorisCaseEntry): LycorisCase {
  const dir = join(root, entry.name);
  const json = <T>(f: string): T => JSON.parse(readFileSync(join(dir, f), "utf8")) as T;
  return {
    name: entry.name,
    dir,
    entry,
    expected: json<LycorisExpectedJson>("expected.json"),
    modelModules: json<{ modules: LycorisModelModule[] }>("model.json").modules,
    adapterBytes: new Uint8Array(readFileSync(join(dir, "adapter.safetensors"))),
    base: readSafetensorsSync(join(dir, "base.safetensors")).tensors,
    inputs: readSafetensorsSync(join(dir, "inputs.safetensors")).tensors,
    tensors: readSafetensorsSync(join(dir, "expected.safetensors")).tensors,
  };
}

/** The conv options of a model.json conv module. */
export function convOptionsOf(m: LycorisModelModule): ConvOptions {
  return {
    stride: m.stride ?? [1],
    padding: m.padding ?? [0],
    dilation: m.dilation ?? [1],
    groups: m.groups ?? 1,
    paddingMode: "zeros",
  };
}

/** The layer's op: `x·Wᵀ + b` or the conv with the module's options. */
export function applyLayer(
  m: LycorisModelModule,
  x: Tensor<Float32Array>,
  w: Tensor<Float32Array>,
  b: Tensor<Float32Array> | null,
): Tensor<Float32Array> {
  if (m.kind === "linear") {
    const y = matmul(x, w, { transB: true });
    if (b !== null) {
      const n = b.data.length;
      for (let i = 0; i < y.data.length; i++) y.data[i]! += b.data[i % n]!;
    }
    return y;
  }
  return m.kind === "conv1d" ? conv1d(x, w, b, convOptionsOf(m)) : conv2d(x, w, b, convOptionsOf(m));
}

/** How Python writes a float strength in tensor names (`1.0`, `0.5`). */
export function strengthText(s: number): string {
  return Number.isInteger(s) ? s.toFixed(1) : String(s);
}

/**
 * Largest `|actual − expected| / (1 + |expected|)` over a tensor (shapes must match; `Infinity`
 * when they do not).
 */
export function worstRelative(actual: Tensor<Float32Array>, expected: Tensor<Float32Array>): number {
  if (actual.shape.length !== expected.shape.length || actual.shape.some((v, i) => v !== expected.shape[i])) {
    return Number.POSITIVE_INFINITY;
  }
  let worst = 0;
  for (let i = 0; i < expected.data.length; i++) {
    const e = expected.data[i]!;
    const err = Math.abs(actual.data[i]! - e) / (1 + Math.abs(e));
    if (!(err <= worst)) worst = err;
  }
  return worst;
}
