import { join } from "node:path";
import type { Tensor } from "@lycoris-ts/kernels";
import {
  type LycorisConfig,
  type ModelDescription,
  parseAdapterConfigJson,
  parseModelDescription,
} from "@lycoris-ts/lycoris-config";
import {
  type AdapterRegistry,
  buildModelFromDescription,
  type Module,
  PeftModel,
  type PeftModelOptions,
} from "@lycoris-ts/runtime";
import { type CaseJson, readJson, readTensors } from "./fixture-files";

/** Builds a variant config from PEFT config kwargs (snake_case, as in case.json). */
export function configFromKwargs(
  registry: AdapterRegistry,
  peftType: string,
  kwargs: Record<string, unknown>,
): LycorisConfig {
  const { options } = parseAdapterConfigJson({ ...kwargs, peft_type: peftType });
  return registry.get(peftType).createConfig(options);
}

/** A PEFT-format case's base model (fixtures/peft/FORMAT.md), in eval mode, and how to wrap it. */
export interface CaseBase {
  readonly c: CaseJson;
  readonly description: ModelDescription;
  readonly base: Map<string, Tensor<Float32Array>>;
  readonly model: Module;
  /** The `PeftModel` options PEFT's run had (the model's facts; warnings collected, not printed). */
  readonly options: PeftModelOptions;
}

/** Builds a PEFT-format case's base model from `model.json` + `base.safetensors`. */
export function buildCaseBase(caseDir: string, registry: AdapterRegistry): CaseBase {
  const c = readJson<CaseJson>(join(caseDir, "case.json"));
  const modelJson = readJson(join(caseDir, "model.json"));
  const description = parseModelDescription(modelJson);
  const base = readTensors(join(caseDir, "base.safetensors"));
  const model = buildModelFromDescription(description, base);
  model.eval();
  const options: PeftModelOptions = {
    registry,
    description,
    outputLayer: description.outputLayer ?? null,
    inputEmbeddings: (modelJson.input_embeddings as string | null) ?? null,
    modelType: description.modelType ?? null,
    onWarning: null, // compared with expected.json instead of printed
  };
  return { c, description, base, model, options };
}

/** A case's base model wrapped with the case's adapters, in creation order (weights not loaded yet). */
export function buildPeftCaseModel(
  caseDir: string,
  registry: AdapterRegistry,
): CaseBase & { peft: PeftModel } {
  const built = buildCaseBase(caseDir, registry);
  const [first, ...rest] = built.c.adapters;
  const peft = new PeftModel(
    built.model,
    configFromKwargs(registry, first!.peft_type, first!.config),
    first!.name,
    built.options,
  );
  for (const a of rest) peft.addAdapter(a.name, configFromKwargs(registry, a.peft_type, a.config));
  peft.eval();
  return { ...built, peft };
}
