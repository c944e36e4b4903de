import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Tensor } from "@lycoris-ts/kernels";
import { decodeTensorBytes, parseSafetensorsHeader, readSafetensorsSync } from "@lycoris-ts/safetensors";

/** Reads and parses a JSON file. */
export function readJson<T = Record<string, unknown>>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

/** The tensors of a safetensors file. */
export function readTensors(path: string): Map<string, Tensor<Float32Array>> {
  return readSafetensorsSync(path).tensors;
}

/**
 * The tensors of an `inputs.safetensors`: float tensors decoded to float32, and int64 token ids (embedding
 * inputs, FORMAT.md of peft-lora) as float32 integers, the runtime's index convention.
 */
export function readInputs(path: string): Map<string, Tensor<Float32Array>> {
  const bytes = readFileSync(path);
  const out = new Map<string, Tensor<Float32Array>>();
  for (const t of parseSafetensorsHeader(bytes).tensors) {
    const raw = bytes.subarray(t.byteOffset, t.byteOffset + t.byteLength);
    if (t.dtype !== "I64") {
      out.set(t.name, decodeTensorBytes(t.name, t.dtype, t.shape, raw));
      continue;
    }
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const ids = Float32Array.from({ length: raw.byteLength / 8 }, (_, i) =>
      Number(view.getBigInt64(8 * i, true)),
    );
    out.set(t.name, { data: ids, shape: [...t.shape] });
  }
  return out;
}

/** The directory holding adapter `name`'s saved files inside a case's `adapter/` folder. */
export function adapterDir(caseDir: string, name: string): string {
  return name === "default" ? join(caseDir, "adapter") : join(caseDir, "adapter", name);
}

/** Whether a path exists. */
export function exists(path: string): boolean {
  return existsSync(path);
}

/** One adapter of a case. */
export interface CaseAdapter {
  readonly name: string;
  readonly peft_type: string;
  readonly config: Record<string, unknown>;
}

/** A case's `case.json`. */
export interface CaseJson {
  readonly name: string;
  readonly adapters: readonly CaseAdapter[];
  readonly active_adapters: readonly string[] | null;
}

/** Per-adapter expectations of one module in `expected.json`. */
export interface ExpectedModuleAdapter {
  readonly peft_type: string;
  readonly r: number;
  readonly alpha: number;
  readonly scaling: number;
  readonly params: Record<string, number[]>;
  readonly num_params: number;
  /** LoKr / LoHa only. */
  readonly structure?: Record<string, unknown>;
  readonly factorization?: { out: [number, number]; in: [number, number] };
  /** LoRA only: the value the layer uses, and rsLoRA. */
  readonly fan_in_fan_out?: boolean;
  readonly use_rslora?: boolean;
  /** LoRA only: PEFT could not compute ΔW (grouped conv). */
  readonly delta_error?: { readonly exception: string; readonly message: string };
}

/** A case's `expected.json`. */
export interface ExpectedJson {
  readonly adapters: readonly string[];
  readonly active_adapters: readonly string[];
  readonly targeted_modules: readonly string[];
  readonly modules: Record<
    string,
    { kind: string; weight_shape: number[]; adapters: Record<string, ExpectedModuleAdapter> }
  >;
  readonly modules_to_save: readonly string[];
  readonly trainable_params: number;
  readonly all_params: number;
  readonly trainable_params_line: string;
  readonly state_dict_keys: Record<string, string[]>;
  /** LoRA: merging raised (grouped conv); then no merged / unmerged tensors exist. */
  readonly merge_error?: { readonly exception: string; readonly message: string } | null;
  readonly merged_state_dict_keys_equal_base?: boolean | null;
  readonly warnings?: ReadonlyArray<{
    readonly category: string;
    readonly message: string;
    readonly phase: string;
  }>;
}
