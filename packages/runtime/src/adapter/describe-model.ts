import type { ModelDescription, ModuleDescription } from "@lycoris-ts/lycoris-config";
import type { Module } from "../model/module";
import { LycorisLayer } from "./lycoris-layer";

/** Where the model's output layer, token embeddings and model type are, when the tree alone does not say. */
export interface ModelFacts {
  /** The output projection (e.g. `"lm_head"`), never adapted by `"all-linear"`. */
  readonly outputLayer?: string | null;
  /** The token-embedding table, if any. */
  readonly inputEmbeddings?: string | null;
  /** The model type, for PEFT's default target modules (`"llama"`, `"bert"`, ...). */
  readonly modelType?: string | null;
}

const SKIPPED_FIELDS = new Set(["training", "keepInputs", "kind"]);

/**
 * Describes one module as a model description entry: its kind and its public
 * hyper-parameters (own fields of plain values), plus `bias` when the module
 * has a bias slot. Adapter layers and modules-to-save wrappers describe the
 * module they wrap.
 */
export function describeModule(name: string, m: Module): ModuleDescription {
  const inner = unwrap(m);
  const out: Record<string, unknown> = { name, kind: inner.kind };
  for (const [key, value] of Object.entries(inner)) {
    if (SKIPPED_FIELDS.has(key) || key.startsWith("_")) continue;
    if (isPlain(value)) out[key] = Array.isArray(value) ? [...value] : value;
  }
  const slots = [...inner.namedParameters("", false)].map(([n]) => n);
  if ("bias" in inner || slots.includes("bias")) out.bias = inner.getParameter("bias") !== null;
  if (inner.kind === "module_list") out.length = inner.children().size;
  return out as ModuleDescription;
}

/**
 * The model description of a module tree, as `lycoris-config` selects targets
 * on it: every named module in depth-first order (the root excluded); an
 * adapter layer or modules-to-save wrapper stands for its wrapped module and
 * its internals are not listed.
 */
export function describeModel(root: Module, facts: ModelFacts = {}): ModelDescription {
  const modules: ModuleDescription[] = [];
  const visit = (prefix: string, m: Module): void => {
    for (const [name, child] of m.children()) {
      const path = prefix === "" ? name : `${prefix}.${name}`;
      modules.push(describeModule(path, child));
      if (!isWrapper(child)) visit(path, child);
    }
  };
  visit("", root);
  return { modules, outputLayer: facts.outputLayer ?? null, modelType: facts.modelType ?? null };
}

function isWrapper(m: Module): boolean {
  return m instanceof LycorisLayer || m.kind === "modules_to_save";
}

function unwrap(m: Module): Module {
  if (m instanceof LycorisLayer) return m.baseLayer;
  if (m.kind === "modules_to_save") return m.children().get("original_module")!;
  return m;
}

function isPlain(v: unknown): boolean {
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "string") return true;
  return Array.isArray(v) && v.every((x) => typeof x === "number");
}
