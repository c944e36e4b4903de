import type { Tensor } from "@lycoris-ts/kernels";
import { LycorisLayer } from "../adapter/lycoris-layer";
import { AdapterError } from "../errors";
import type { PeftModel } from "./peft-model";

/** PEFT's prefix of every saved key (`PeftModel.base_model.model`). */
export const PEFT_KEY_PREFIX = "base_model.model.";

/** PEFT's embedding-layer names that trigger saving embedding layers (`EMBEDDING_LAYER_NAMES`). */
const EMBEDDING_LAYER_NAMES = ["embed_tokens", "lm_head"] as const;

/**
 * The tensors PEFT saves for `adapter`, under PEFT's key names and in PEFT's
 * order: every adapter parameter (`base_model.model.<module>.<param>`, module
 * order, then the variant's parameter order), then modules-to-save copies
 * (`base_model.model.<module>.<param>`), then — when an embedding-layer name is
 * among `target_modules` — the adapted embedding/output layers' base weights
 * (`<module>.base_layer.weight`), as PEFT's `save_embedding_layers="auto"`.
 */
export function adapterStateDict(peft: PeftModel, adapter: string): Map<string, Tensor<Float32Array>> {
  const config = peft.peftConfig.get(adapter);
  if (config === undefined) {
    throw new AdapterError("unknown_adapter", `adapter '${adapter}' not found`, {
      field: "adapterName",
      received: adapter,
    });
  }
  const variant = peft.variantOf(adapter);
  const out = new Map<string, Tensor<Float32Array>>();
  for (const [path, layer] of peft.adapterLayers()) {
    const params = layer.parametersOf(adapter);
    for (const pname of variant.parameterNames) {
      const p = params.get(pname);
      if (p !== undefined) out.set(`${PEFT_KEY_PREFIX}${path}.${pname}`, p.data);
    }
  }
  for (const [path, w] of peft.modulesToSaveWrappers()) {
    const copy = w.copyOf(adapter);
    if (copy === undefined) continue;
    for (const [k, t] of copy.stateDict()) out.set(`${PEFT_KEY_PREFIX}${path}.${k}`, t);
  }
  if (savesEmbeddingLayers(config.targetModules)) {
    for (const name of [peft.facts.inputEmbeddings, peft.facts.outputLayer]) {
      if (!name) continue;
      const m = safeGet(peft, name);
      if (!(m instanceof LycorisLayer)) continue;
      for (const [k, t] of m.baseLayer.stateDict()) out.set(`${PEFT_KEY_PREFIX}${name}.base_layer.${k}`, t);
    }
  }
  return out;
}

/** Whether PEFT's `save_embedding_layers="auto"` turns on for these target modules. */
export function savesEmbeddingLayers(targetModules: string | readonly string[] | null): boolean {
  if (targetModules === null) return false;
  if (typeof targetModules === "string") return EMBEDDING_LAYER_NAMES.some((k) => targetModules.includes(k));
  return EMBEDDING_LAYER_NAMES.some((k) => targetModules.includes(k));
}

/**
 * Splits saved PEFT keys by module: `base_model.model.<module>.<param>` →
 * module path and parameter name (the parameter name is the last dotted part,
 * or `base_layer.<p>` for saved embedding base weights).
 */
export function splitPeftKey(key: string): { module: string; param: string } {
  const body = key.startsWith(PEFT_KEY_PREFIX) ? key.slice(PEFT_KEY_PREFIX.length) : key;
  const baseIdx = body.lastIndexOf(".base_layer.");
  if (baseIdx >= 0) return { module: body.slice(0, baseIdx), param: body.slice(baseIdx + 1) };
  const dot = body.lastIndexOf(".");
  return dot < 0 ? { module: "", param: body } : { module: body.slice(0, dot), param: body.slice(dot + 1) };
}

/**
 * Loads saved PEFT tensors into adapter `adapter` of `peft`. Every key must land
 * somewhere and every parameter of the adapter must be present; shapes are
 * checked before anything is written, and errors name the module, the
 * parameter, the expected and the found shape.
 */
export function loadAdapterStateDict(
  peft: PeftModel,
  adapter: string,
  weights: ReadonlyMap<string, Tensor<Float32Array>>,
): void {
  const variant = peft.variantOf(adapter);
  const byModule = new Map<string, Map<string, Tensor<Float32Array>>>();
  const toSave: Array<{ module: string; param: string; t: Tensor<Float32Array> }> = [];
  const baseWeights: Array<{ module: string; param: string; t: Tensor<Float32Array> }> = [];
  for (const [key, t] of weights) {
    const { module, param } = splitPeftKey(key);
    if (param.startsWith("base_layer."))
      baseWeights.push({ module, param: param.slice("base_layer.".length), t });
    else if (param.startsWith(variant.prefix)) {
      const m = byModule.get(module) ?? new Map<string, Tensor<Float32Array>>();
      byModule.set(module, m);
      m.set(param, t);
    } else toSave.push({ module, param, t });
  }
  const layers = new Map([...peft.adapterLayers()].filter(([, l]) => l.adapter(adapter) !== undefined));
  for (const module of byModule.keys()) {
    if (!layers.has(module)) {
      throw new AdapterError(
        "unexpected_parameter",
        `the adapter file has weights for module '${module}', which adapter '${adapter}' does not adapt in this model`,
        {
          field: module,
          expected: [...layers.keys()].join(", "),
          received: module,
        },
      );
    }
  }
  // validate all, then write all
  const writes: Array<() => void> = [];
  for (const [module, layer] of layers) {
    const values = byModule.get(module) ?? new Map<string, Tensor<Float32Array>>();
    const probe = new Map(values);
    writes.push(() => layer.loadAdapterValues(adapter, probe, module));
    validateShapes(layer.parametersOf(adapter), values, module, adapter);
  }
  for (const { module, param, t } of toSave) {
    const w = [...peft.modulesToSaveWrappers()].find(([p]) => p === module)?.[1];
    const copy = w?.copyOf(adapter);
    if (copy === undefined) {
      throw new AdapterError(
        "unexpected_parameter",
        `the adapter file has '${module}.${param}', which is neither an adapter parameter nor a module to save`,
        {
          field: `${module}.${param}`,
          received: `${module}.${param}`,
        },
      );
    }
    writes.push(() => copy.loadStateDict(new Map([[param, t]]), { strict: false }));
  }
  for (const { module, param, t } of baseWeights) {
    const m = safeGet(peft, module);
    if (m instanceof LycorisLayer)
      writes.push(() => m.baseLayer.loadStateDict(new Map([[param, t]]), { strict: false }));
  }
  for (const w of writes) w();
}

function validateShapes(
  params: ReadonlyMap<string, { data: Tensor<Float32Array> }>,
  values: ReadonlyMap<string, Tensor<Float32Array>>,
  module: string,
  adapter: string,
): void {
  for (const [pname, p] of params) {
    const t = values.get(pname);
    if (t === undefined) {
      throw new AdapterError(
        "missing_parameter",
        `module '${module}': parameter '${pname}' of adapter '${adapter}' is missing from the file`,
        {
          field: `${module}.${pname}`,
          expected: `[${p.data.shape.join(", ")}]`,
          received: "missing",
        },
      );
    }
    if (t.shape.length !== p.data.shape.length || t.shape.some((v, i) => v !== p.data.shape[i])) {
      throw new AdapterError(
        "shape_mismatch",
        `module '${module}', parameter '${pname}': expected shape [${p.data.shape.join(", ")}], found [${t.shape.join(", ")}]`,
        {
          field: `${module}.${pname}`,
          expected: `[${p.data.shape.join(", ")}]`,
          received: `[${t.shape.join(", ")}]`,
        },
      );
    }
  }
  for (const pname of values.keys()) {
    if (!params.has(pname)) {
      throw new AdapterError(
        "unexpected_parameter",
        `module '${module}': the file has '${pname}', which this adapter does not create here (it has ${[...params.keys()].join(", ")})`,
        {
          field: `${module}.${pname}`,
          expected: [...params.keys()].join(", "),
          received: pname,
        },
      );
    }
  }
}

function safeGet(peft: PeftModel, path: string) {
  try {
    return peft.model.getSubmodule(path);
  } catch {
    return undefined;
  }
}
