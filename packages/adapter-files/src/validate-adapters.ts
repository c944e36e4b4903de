import { isModuleToSave, matchesNameOrSuffix } from "@lycoris-ts/lycoris-config";
import { type AdapterRegistry, isFloatDtype, PEFT_KEY_PREFIX } from "@lycoris-ts/runtime";
import { describeModule } from "./describe-module";
import { type AdapterInput, type FileInput, inputName } from "./file-input";
import { fitModuleToBase } from "./fit-module-to-base";
import { shapeText } from "./layout-check";
import { locateAdapters, selectAdapters } from "./locate-adapters";
import { closeAdapters, type OpenedAdapter, openAdapters } from "./open-adapter";
import { openBaseModel } from "./open-base-model";
import type { TensorFile } from "./tensor-file";

/** Outcome of one check. */
export type CheckLevel = "ok" | "warning" | "error";

/** One line of a validation report. */
export interface ValidationCheck {
  readonly level: CheckLevel;
  /** What was checked: `config`, `tensor names`, `factor shapes`, `base`, or a module / tensor name. */
  readonly subject: string;
  readonly message: string;
}

/** Validation of one adapter. */
export interface AdapterValidation {
  readonly name: string;
  readonly peftType: string;
  readonly modules: number;
  readonly checks: readonly ValidationCheck[];
}

/** What the validations report (`lycoris validate --json`). */
export interface ValidateReport {
  readonly path: string;
  readonly base: string | null;
  readonly adapters: readonly AdapterValidation[];
  readonly errors: number;
  readonly warnings: number;
  readonly ok: boolean;
}

async function validateAdapter(adapter: OpenedAdapter, base: TensorFile | null): Promise<AdapterValidation> {
  const checks: ValidationCheck[] = [];
  const problem = (subject: string, message: string, level: CheckLevel = "error") =>
    checks.push({ level, subject, message });
  const cf = adapter.configFile!;
  const { groups, reader } = adapter;
  const config = cf.config;
  checks.push({
    level: "ok",
    subject: "config",
    message: `${cf.peftType} config is valid (r=${config.r}, alpha=${config.alpha})`,
  });

  // tensor names
  const before = checks.length;
  for (const info of reader.header.tensors) {
    if (!info.name.startsWith(PEFT_KEY_PREFIX)) {
      problem(info.name, `tensor name does not start with '${PEFT_KEY_PREFIX}' (PEFT's key naming)`);
    }
    if (!isFloatDtype(info.dtype)) problem(info.name, `dtype ${info.dtype} is not a float dtype`);
  }
  for (const m of groups.modules) {
    if (m.variant !== cf.variant) {
      problem(
        m.module,
        `parameters ${[...m.params.keys()].join(", ")} are ${m.variant?.peftType ?? "of no known type"}, but peft_type is ${cf.peftType}`,
      );
      continue;
    }
    for (const p of m.params.keys()) {
      if (!cf.variant.parameterNames.includes(p)) {
        problem(
          `${m.module}.${p}`,
          `'${p}' is not a ${cf.peftType} parameter name (${cf.variant.parameterNames.join(", ")})`,
        );
      }
    }
  }
  for (const [baseName, info] of groups.replacements) {
    const module = baseName.includes(".") ? baseName.slice(0, baseName.lastIndexOf(".")) : baseName;
    if (!isModuleToSave(config, module)) {
      problem(info.name, `neither a ${cf.peftType} parameter nor a copy of a module in modules_to_save`);
    }
  }
  const targets = config.targetModules;
  if (Array.isArray(targets)) {
    for (const m of groups.modules) {
      if (!matchesNameOrSuffix(m.module, targets as readonly string[])) {
        problem(m.module, `not matched by target_modules ${JSON.stringify(targets)}`, "warning");
      }
    }
  }
  if (groups.modules.length === 0) problem("tensor names", "the adapter adapts no module", "warning");
  if (checks.length === before) {
    checks.push({
      level: "ok",
      subject: "tensor names",
      message: `${reader.header.tensors.length} tensors: ${cf.peftType} parameters of ${groups.modules.length} modules${groups.replacements.size > 0 ? `, ${groups.replacements.size} modules_to_save tensors` : ""}`,
    });
  }

  // factor shapes (no base)
  const beforeShapes = checks.length;
  for (const m of groups.modules) {
    if (m.variant !== cf.variant) continue;
    const d = await describeModule(m, config, reader);
    for (const p of d.problems) problem(m.module, p);
  }
  if (checks.length === beforeShapes) {
    checks.push({
      level: "ok",
      subject: "factor shapes",
      message: `consistent with ${cf.peftType}'s layout for the configured r / rank_pattern in ${groups.modules.length} modules`,
    });
  }

  // against the base
  if (base !== null) {
    const beforeBase = checks.length;
    for (const m of groups.modules) {
      if (m.variant !== cf.variant) continue;
      const fit = fitModuleToBase(base, m, config, cf.variant);
      if (!fit.ok) problem(m.module, fit.message);
    }
    for (const [baseName, info] of groups.replacements) {
      const target = base.info(baseName);
      if (target === undefined) problem(info.name, `replaces '${baseName}', which is not in the base model`);
      else if (shapeText(target.shape) !== shapeText(info.shape)) {
        problem(
          info.name,
          `shape mismatch: base '${baseName}' is ${shapeText(target.shape)}, the copy is ${shapeText(info.shape)}`,
        );
      }
    }
    for (const [baseName, info] of groups.baseLayer) {
      const target = base.info(baseName);
      if (target === undefined)
        problem(
          info.name,
          `saved base-layer weight of '${baseName}', which is not in the base model`,
          "warning",
        );
      else if (shapeText(target.shape) !== shapeText(info.shape)) {
        problem(
          info.name,
          `shape mismatch: base '${baseName}' is ${shapeText(target.shape)}, the saved base layer is ${shapeText(info.shape)}`,
        );
      }
    }
    if (checks.length === beforeBase) {
      checks.push({
        level: "ok",
        subject: "base",
        message: `all ${groups.modules.length} adapted modules are in the base model and their factors fit the base weights`,
      });
    }
  }
  return { name: adapter.location.name, peftType: cf.peftType, modules: groups.modules.length, checks };
}

/**
 * Validates a PEFT adapter directory (every adapter in it, or those named): the config parses and
 * validates, tensor names are the variant's parameter names under PEFT's key naming, factor
 * shapes are consistent with the config, and with `base`, every adapted module exists in the base
 * model and its factors fit the base weight.
 *
 * @throws AdapterFilesError / SafetensorsError / AdapterError / LycorisConfigError when the inputs
 *   cannot be read at all (missing, not an adapter directory, corrupt file, unknown peft_type, invalid config).
 */
export async function validateAdapters(
  input: AdapterInput,
  registry: AdapterRegistry,
  opts: { readonly base?: FileInput; readonly adapterNames?: readonly string[] } = {},
): Promise<ValidateReport> {
  const located = await locateAdapters(input, { allowFile: false });
  const adapters = await openAdapters(selectAdapters(located, opts.adapterNames ?? []), registry);
  let base: TensorFile | null = null;
  try {
    if (opts.base !== undefined) base = await openBaseModel(opts.base);
    const results: AdapterValidation[] = [];
    for (const a of adapters) results.push(await validateAdapter(a, base));
    const count = (level: CheckLevel) =>
      results.reduce((n, a) => n + a.checks.filter((c) => c.level === level).length, 0);
    const errors = count("error");
    return {
      path: inputName(input),
      base: opts.base === undefined ? null : inputName(opts.base),
      adapters: results,
      errors,
      warnings: count("warning"),
      ok: errors === 0,
    };
  } finally {
    await base?.close();
    await closeAdapters(adapters);
  }
}
