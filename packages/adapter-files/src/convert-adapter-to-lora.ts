import type { Tensor } from "@lycoris-ts/kernels";
import {
  type ConvertToLoraOptions,
  convertToLora,
  type LoraConversion,
  type LoraConversionLayer,
  type LoraConversionSource,
  saveLoraAdapter,
} from "@lycoris-ts/lora";
import { type LycorisConfig, resolveRankAndAlpha } from "@lycoris-ts/lycoris-config";
import {
  ADAPTER_CONFIG_NAME,
  type AdapterContext,
  type AdapterRegistry,
  PEFT_KEY_PREFIX,
  PeftModel,
} from "@lycoris-ts/runtime";
import { AdapterFilesError } from "./adapter-files-error";
import { checkPeftOutput } from "./check-peft-output";
import { type AdapterInput, type BaseInput, baseInputFiles, inputName } from "./file-input";
import { fitModuleToBase } from "./fit-module-to-base";
import type { AdapterModuleTensors } from "./group-adapter-tensors";
import { compareLayout, shapeText } from "./layout-check";
import { locateAdapters, selectAdapters } from "./locate-adapters";
import { closeAdapters, type OpenedAdapter, openAdapter } from "./open-adapter";
import { openBaseModel } from "./open-base-model";
import type { TensorFile } from "./tensor-file";

/** Options of {@link convertAdapterToLora}: `convertToLora`'s, and where the files come from and go. */
export interface ConvertAdapterToLoraOptions extends ConvertToLoraOptions {
  /** The registry holding the source adapter's variant (LoKr, LoHa, a plugin's). */
  readonly registry: AdapterRegistry;
  /**
   * The base checkpoint (optional): fixes each layer's weight shape where the factors do not. Without it, factors
   * that fold a conv's kernel into a matrix (LoKr's low-rank `w2`, LoHa without `use_effective_conv2d`) are read
   * as a linear layer's. A conv's `groups` is in neither file: without the model, convs are taken as ungrouped.
   */
  readonly base?: BaseInput;
  /** Write the LoRA adapter as a PEFT adapter directory here (Node.js; refused when it already holds an adapter). */
  readonly out?: string;
}

function refuse(what: string, message: string): never {
  throw new AdapterFilesError("input", `${what}: ${message}`, { path: what });
}

/** A module's context without a base model: the one layer its factors (and the config's r / alpha) fit. */
function contextFromFactors(
  what: string,
  m: AdapterModuleTensors,
  config: LycorisConfig,
): AdapterContext<LycorisConfig> {
  const variant = m.variant!;
  const { r, alpha } = resolveRankAndAlpha(config, m.module);
  const shapes = new Map([...m.params].map(([n, i]) => [n, i.shape] as const));
  const fitting = (variant.layerCandidates?.(shapes) ?? [])
    .map((layer) => ({ config, r, alpha, layer }))
    .filter((ctx) => compareLayout(variant, ctx, shapes).length === 0);
  if (fitting.length === 1) return fitting[0]!;
  // Factors that fold a kernel into a matrix fit a linear layer and every kernel split: the file cannot tell, and a
  // linear layer is what such factors almost always adapt (a conv needs `base`).
  const linear = fitting.find((c) => c.layer.kind === "linear");
  if (linear !== undefined) return linear;
  if (fitting.length === 0)
    refuse(
      what,
      `${m.module}: the factors fit no ${variant.peftType} layer with r=${r} (no layer candidates)`,
    );
  return refuse(
    what,
    `${m.module}: the factors fit several base weights (${fitting.map((c) => shapeText(c.layer.weightShape)).join(", ")}): pass the base checkpoint (option base, --base) to fix the kernel`,
  );
}

async function conversionSource(
  opened: OpenedAdapter,
  base: TensorFile | null,
): Promise<LoraConversionSource> {
  const what = inputName(opened.location.weights);
  const file = opened.configFile;
  if (file === null)
    refuse(what, `no ${ADAPTER_CONFIG_NAME}: converting to LoRA needs a PEFT adapter directory`);
  const layers: LoraConversionLayer[] = [];
  for (const m of opened.groups.modules) {
    if (m.variant !== file.variant)
      refuse(
        what,
        `${m.module}: tensors of ${m.variant?.peftType ?? "no registered variant"}, the config says ${file.peftType}`,
      );
    let ctx: AdapterContext<LycorisConfig>;
    let scaling: number;
    if (base !== null) {
      const fit = fitModuleToBase(base, m, file.config, file.variant);
      if (!fit.ok) refuse(what, `${m.module}: ${fit.message}`);
      ({ ctx, scaling } = fit);
    } else {
      ctx = contextFromFactors(what, m, file.config);
      scaling = file.variant.scaling?.(ctx) ?? ctx.alpha / ctx.r;
    }
    const params: Record<string, Tensor<Float32Array>> = {};
    for (const [name, info] of m.params) params[name] = await opened.reader.read(info.name);
    layers.push({ module: m.module, variant: file.variant, params, ctx, scaling });
  }
  const modulesToSave = new Map<string, Tensor<Float32Array>>();
  for (const [name, info] of opened.groups.replacements)
    modulesToSave.set(`${PEFT_KEY_PREFIX}${name}`, await opened.reader.read(info.name));
  return {
    adapterName: opened.location.name,
    config: file.config,
    targetModules: file.config.targetModules,
    layers,
    tunerLayers: layers.map((l) => ({
      module: l.module,
      kind: l.ctx.layer.kind,
      peftType: file.peftType,
      hasAdapter: true,
    })),
    modulesToSave,
  };
}

/**
 * `convertToLora` (`@lycoris-ts/lora`, PEFT's `convert_to_lora`) on a loaded `PeftModel` or on an adapter's files:
 * a PEFT adapter directory as a path or as its files (`DirectoryFiles`, e.g. from a browser's directory picker),
 * read lazily, no base model needed (see `base`). Writes the LoRA adapter to `out` when given.
 *
 * From files, modules come in the weights file's order (PEFT's in-memory `rank_pattern` follows the model's; the
 * saved files sort both anyway), and `target_modules` is saved as the source config has it.
 *
 * @throws AdapterFilesError (`input`, `not_found`, `refused`), everything `convertToLora` throws.
 */
export async function convertAdapterToLora(
  input: AdapterInput | PeftModel,
  options: ConvertAdapterToLoraOptions,
): Promise<LoraConversion> {
  if (options.out !== undefined) {
    const inputs = input instanceof PeftModel ? [] : [input];
    await checkPeftOutput(
      options.out,
      options.base === undefined ? [] : baseInputFiles(options.base),
      inputs,
    );
  }
  let result: LoraConversion;
  if (input instanceof PeftModel) result = convertToLora(input, options);
  else {
    const located = await locateAdapters(input, { allowFile: false });
    const [location] = selectAdapters(located, [options.adapterName ?? "default"]);
    const opened = await openAdapter(location!, options.registry);
    const base = options.base === undefined ? null : await openBaseModel(options.base);
    try {
      result = convertToLora(await conversionSource(opened, base), options);
    } finally {
      await closeAdapters([opened]);
      await base?.close();
    }
  }
  if (options.out !== undefined) await saveLoraAdapter(options.out, result);
  return result;
}
