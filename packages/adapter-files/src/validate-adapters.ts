import { isModuleToSave, matchesNameOrSuffix } from "@lycoris-ts/lycoris-config";
import { type AdapterRegistry, PEFT_KEY_PREFIX } from "@lycoris-ts/runtime";
import { isFloatDtype } from "@lycoris-ts/safetensors";
import { describeModule } from "./describe-module";
import { type AdapterInput, type BaseInput, inputName } from "./file-input";
import { fitModuleToBase } from "./fit-module-to-base";
import { shapeText } from "./layout-check";
import { locateAdapters, selectAdapters } from "./locate-adapters";
import { closeAdapters, type OpenedAdapter, openAdapters } from "./open-adapter";
import { openBaseModel } from "./open-base-model";
import type { AdapterConfigFile } from "./read-adapter-config";
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

/** Collects the problems of one group of checks; `done(okMessage)` adds an ok line when there were none. */
class CheckList {
  readonly checks: ValidationCheck[] = [];
  #start = 0;

  begin(): void {
    this.#start = this.checks.length;
  }

  problem(subject: string, message: string, level: CheckLevel = "error"): void {
    this.checks.push({ level, subject, message });
  }

  done(subject: string, message: string): void {
    if (this.checks.length === this.#start) this.checks.push({ level: "ok", subject, message });
  }
}

/** Tensor names: PEFT keys, float dtypes, the variant's parameter names, modules_to_save copies, targets. */
function checkTensorNames(c: CheckList, adapter: OpenedAdapter, cf: AdapterConfigFile): void {
  const { groups, reader } = adapter;
  c.begin();
  for (const info of reader.header.tensors) {
    if (!info.name.startsWith(PEFT_KEY_PREFIX)) {
      c.problem(info.name, `tensor name does not start with '${PEFT_KEY_PREFIX}' (PEFT's key naming)`);
    }
    if (!isFloatDtype(info.dtype)) c.problem(info.name, `dtype ${info.dtype} is not a float dtype`);
  }
  for (const m of groups.modules) {
    if (m.variant !== cf.variant) {
      const type = m.variant?.peftType ?? "of no known type";
      c.problem(
        m.module,
        `parameters ${[...m.params.keys()].join(", ")} are ${type}, but peft_type is ${cf.peftType}`,
      );
      continue;
    }
    for (const p of m.params.keys()) {
      if (cf.variant.parameterNames.includes(p)) continue;
      const names = cf.variant.parameterNames.join(", ");
      c.problem(`${m.module}.${p}`, `'${p}' is not a ${cf.peftType} parameter name (${names})`);
    }
  }
  for (const [baseName, info] of groups.replacements) {
    const module = baseName.includes(".") ? baseName.slice(0, baseName.lastIndexOf(".")) : baseName;
    if (!isModuleToSave(cf.config, module)) {
      c.problem(info.name, `neither a ${cf.peftType} parameter nor a copy of a module in modules_to_save`);
    }
  }
  const targets = cf.config.targetModules;
  for (const m of Array.isArray(targets) ? groups.modules : []) {
    if (!matchesNameOrSuffix(m.module, targets as readonly string[])) {
      c.problem(m.module, `not matched by target_modules ${JSON.stringify(targets)}`, "warning");
    }
  }
  if (groups.modules.length === 0) c.problem("tensor names", "the adapter adapts no module", "warning");
  const copies = groups.replacements.size > 0 ? `, ${groups.replacements.size} modules_to_save tensors` : "";
  c.done(
    "tensor names",
    `${reader.header.tensors.length} tensors: ${cf.peftType} parameters of ${groups.modules.length} modules${copies}`,
  );
}

/** Every module and copy against the base model. */
function checkAgainstBase(
  c: CheckList,
  adapter: OpenedAdapter,
  cf: AdapterConfigFile,
  base: TensorFile,
): void {
  const { groups } = adapter;
  c.begin();
  for (const m of groups.modules) {
    if (m.variant !== cf.variant) continue;
    const fit = fitModuleToBase(base, m, cf.config, cf.variant);
    if (!fit.ok) c.problem(m.module, fit.message);
  }
  const copies = [
    ...[...groups.replacements].map(([n, i]) => [n, i, "the copy", "replaces", "error"] as const),
    ...[...groups.baseLayer].map(
      ([n, i]) => [n, i, "the saved base layer", "saved base-layer weight of", "warning"] as const,
    ),
  ];
  for (const [baseName, info, what, relation, missingLevel] of copies) {
    const target = base.info(baseName);
    if (target === undefined)
      c.problem(info.name, `${relation} '${baseName}', which is not in the base model`, missingLevel);
    else if (shapeText(target.shape) !== shapeText(info.shape)) {
      c.problem(
        info.name,
        `shape mismatch: base '${baseName}' is ${shapeText(target.shape)}, ${what} is ${shapeText(info.shape)}`,
      );
    }
  }
  const n = groups.modules.length;
  c.done("base", `all ${n} adapted modules are in the base model and their factors fit the base weights`);
}

/** Every float tensor of the adapter holds only finite values (a NaN / Inf factor makes every merge NaN). */
async function checkValues(c: CheckList, reader: TensorFile): Promise<void> {
  c.begin();
  let checked = 0;
  for (const info of reader.header.tensors) {
    if (!isFloatDtype(info.dtype)) continue;
    checked++;
    const { data } = await reader.read(info.name);
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      c.problem(info.name, `non-finite value ${data[bad]} at element ${bad} of ${data.length} (NaN/Inf)`);
    }
  }
  c.done("values", `all values of the ${checked} float tensors are finite`);
}

async function validateAdapter(adapter: OpenedAdapter, base: TensorFile | null): Promise<AdapterValidation> {
  const cf = adapter.configFile!;
  const { groups, reader } = adapter;
  const c = new CheckList();
  c.done("config", `${cf.peftType} config is valid (r=${cf.config.r}, alpha=${cf.config.alpha})`);
  checkTensorNames(c, adapter, cf);
  c.begin();
  for (const m of groups.modules) {
    if (m.variant !== cf.variant) continue;
    for (const p of (await describeModule(m, cf.config, reader)).problems) c.problem(m.module, p);
  }
  const layout = `consistent with ${cf.peftType}'s layout for the configured r / rank_pattern in ${groups.modules.length} modules`;
  c.done("factor shapes", layout);
  await checkValues(c, reader);
  if (base !== null) checkAgainstBase(c, adapter, cf, base);
  return {
    name: adapter.location.name,
    peftType: cf.peftType,
    modules: groups.modules.length,
    checks: c.checks,
  };
}

/**
 * Validates a PEFT adapter directory (every adapter in it, or those named): the config parses and
 * validates (with the checks loading runs), tensor names are the variant's parameter names under
 * PEFT's key naming, factor shapes are consistent with the config, every value is finite, and with `base`, every adapted module exists in the base
 * model and its factors fit the base weight.
 *
 * @throws AdapterFilesError / SafetensorsError / AdapterError / LycorisConfigError when the inputs
 *   cannot be read at all (missing, not an adapter directory, corrupt file, unknown peft_type, invalid config).
 */
export async function validateAdapters(
  input: AdapterInput,
  registry: AdapterRegistry,
  opts: { readonly base?: BaseInput; readonly adapterNames?: readonly string[] } = {},
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
