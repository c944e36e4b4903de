import type { Tensor } from "@lycoris-ts/kernels";
import { checkTensorShapes } from "../adapter/check-tensor-shapes";
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
  if (savesEmbeddingLayers(peft.resolvedTargetModulesOf(adapter) ?? config.targetModules)) {
    peft.warn("Setting `save_embedding_layers` to `True` as embedding layers found in `target_modules`.");
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
 * or `base_layer.<p>` for saved embedding base weights). A key ending in one of
 * `parameterNames` (a variant's names, which may be dotted, as LoRA's
 * `lora_A.weight`) is split before that name.
 */
export function splitPeftKey(
  key: string,
  parameterNames: readonly string[] = [],
): { module: string; param: string } {
  const body = key.startsWith(PEFT_KEY_PREFIX) ? key.slice(PEFT_KEY_PREFIX.length) : key;
  const named = parameterNames.find((p) => p.includes(".") && body.endsWith(`.${p}`));
  if (named !== undefined) return { module: body.slice(0, -named.length - 1), param: named };
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
  const toSave = new Map<string, Map<string, Tensor<Float32Array>>>();
  const baseWeights = new Map<string, Map<string, Tensor<Float32Array>>>();
  const add = (
    into: Map<string, Map<string, Tensor<Float32Array>>>,
    module: string,
    param: string,
    t: Tensor<Float32Array>,
  ) => {
    const m = into.get(module) ?? new Map<string, Tensor<Float32Array>>();
    into.set(module, m);
    m.set(param, t);
  };
  for (const [key, t] of weights) {
    const { module, param } = splitPeftKey(key, variant.parameterNames);
    if (param.startsWith("base_layer.")) add(baseWeights, module, param.slice("base_layer.".length), t);
    else if (param.startsWith(variant.prefix)) add(byModule, module, param, t);
    else add(toSave, module, param, t);
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
  // Validate everything first, then write: a bad file changes nothing.
  const shapesOf = (sd: ReadonlyMap<string, Tensor<Float32Array>>) =>
    new Map([...sd].map(([k, t]) => [k, t.shape]));
  const writes: Array<() => void> = [];
  for (const [module, layer] of layers) {
    const values = byModule.get(module) ?? new Map<string, Tensor<Float32Array>>();
    const params = layer.parametersOf(adapter);
    checkTensorShapes(new Map([...params].map(([k, p]) => [k, p.data.shape])), values, {
      module,
      owner: `adapter '${adapter}'`,
    });
    writes.push(() => {
      for (const [pname, p] of params) p.data.data.set(values.get(pname)!.data);
    });
  }
  for (const [module, values] of toSave) {
    const copy = [...peft.modulesToSaveWrappers()].find(([p]) => p === module)?.[1].copyOf(adapter);
    if (copy === undefined) {
      const [param] = [...values.keys()];
      throw new AdapterError(
        "unexpected_parameter",
        `the adapter file has '${module}.${param}', which is neither an adapter parameter nor a module to save`,
        { field: `${module}.${param}`, received: `${module}.${param}` },
      );
    }
    const sd = copy.stateDict();
    checkTensorShapes(shapesOf(sd), values, { module, owner: `the modules_to_save copy of '${adapter}'` });
    writes.push(() => {
      for (const [k, t] of values) sd.get(k)!.data.set(t.data);
    });
  }
  for (const [module, values] of baseWeights) {
    const m = safeGet(peft, module);
    if (!(m instanceof LycorisLayer)) continue;
    const sd = m.baseLayer.stateDict();
    checkTensorShapes(shapesOf(sd), values, { module, owner: "the base layer", allowMissing: true });
    writes.push(() => {
      for (const [k, t] of values) sd.get(k)!.data.set(t.data);
    });
  }
  for (const w of writes) w();
}

function safeGet(peft: PeftModel, path: string) {
  try {
    return peft.model.getSubmodule(path);
  } catch {
    return undefined;
  }
}
