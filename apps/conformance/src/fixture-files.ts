import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Tensor } from "@lycoris-ts/kernels";
import { readSafetensorsSync } from "@lycoris-ts/safetensors";

/** Reads and parses a JSON file. */
export function readJson<T = Record<string, unknown>>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

/** The tensors of a safetensors file. */
export function readTensors(path: string): Map<string, Tensor<Float32Array>> {
  return readSafetensorsSync(path).tensors;
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
  readonly structure: Record<string, unknown>;
  readonly factorization?: { out: [number, number]; in: [number, number] };
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
  readonly warnings?: ReadonlyArray<{
    readonly category: string;
    readonly message: string;
    readonly phase: string;
  }>;
}
