import { isModuleToSave, type LycorisConfig } from "@lycoris-ts/lycoris-config";
import type { AdapterContext, AdapterVariant } from "@lycoris-ts/runtime";
import { isFloatDtype } from "@lycoris-ts/safetensors";
import { AdapterFilesError } from "./adapter-files-error";
import { fitModuleToBase } from "./fit-module-to-base";
import { shapeText } from "./layout-check";
import type { OpenedAdapter } from "./open-adapter";
import type { AdapterConfigFile } from "./read-adapter-config";
import type { TensorFile } from "./tensor-file";

/** One adapter's update of one base weight. */
export interface ModuleUpdate {
  readonly adapter: OpenedAdapter;
  readonly module: string;
  readonly variant: AdapterVariant<LycorisConfig>;
  readonly ctx: AdapterContext<LycorisConfig>;
  /** `alpha / r`. */
  readonly scaling: number;
  /** Adapter parameter name → tensor name in the adapter file. */
  readonly params: ReadonlyMap<string, string>;
}

/** What a merge does to each base tensor; built and checked before anything is written. */
export interface MergePlan {
  /** Base tensor name → the adapter updates to add to it, in adapter order. */
  readonly updates: ReadonlyMap<string, readonly ModuleUpdate[]>;
  /** Base tensor name → the adapter (and its tensor) whose full copy replaces it. */
  readonly replacements: ReadonlyMap<string, { readonly adapter: OpenedAdapter; readonly tensor: string }>;
}

function adapterLabel(a: OpenedAdapter): string {
  return `adapter "${a.location.name}"`;
}

const fail = (message: string): never => {
  throw new AdapterFilesError("input", message);
};

/** Refuses base files with tensors the merge cannot copy as floats. */
export function checkFloatBase(base: TensorFile): void {
  for (const info of base.header.tensors) {
    if (!isFloatDtype(info.dtype)) {
      throw new AdapterFilesError(
        "unsupported",
        `${base.path}: tensor '${info.name}' has dtype ${info.dtype}; only float tensors (F32, F16, BF16, F64) can be copied`,
        { path: base.path },
      );
    }
  }
}

/** The updates of one adapter's modules, each checked against its base weight. */
function moduleUpdates(
  base: TensorFile,
  adapter: OpenedAdapter,
  cf: AdapterConfigFile,
): Array<[string, ModuleUpdate]> {
  const label = adapterLabel(adapter);
  return adapter.groups.modules.map((m) => {
    if (m.variant !== cf.variant) {
      const has = m.variant === null ? "no adapter parameters" : `${m.variant.peftType} parameters`;
      fail(`module '${m.module}' of ${label} has ${has} but the config says peft_type ${cf.peftType}`);
    }
    for (const p of m.params.values()) {
      if (!isFloatDtype(p.dtype))
        fail(`${label}: tensor '${p.name}' has dtype ${p.dtype}, not a float dtype`);
    }
    const fit = fitModuleToBase(base, m, cf.config, cf.variant);
    if (!fit.ok) return fail(`module '${m.module}' (${label}): ${fit.message}`);
    const params = new Map([...m.params].map(([n, i]) => [n, i.name] as const));
    return [
      fit.weightName,
      { adapter, module: m.module, variant: cf.variant, ctx: fit.ctx, scaling: fit.scaling, params },
    ];
  });
}

/** The base tensors one adapter replaces by full copies (`modules_to_save`), each checked. */
function replacementsOf(
  base: TensorFile,
  adapter: OpenedAdapter,
  cf: AdapterConfigFile,
): Array<[string, string]> {
  const label = adapterLabel(adapter);
  return [...adapter.groups.replacements].map(([baseName, info]) => {
    const module = baseName.includes(".") ? baseName.slice(0, baseName.lastIndexOf(".")) : baseName;
    if (!isModuleToSave(cf.config, module)) {
      fail(
        `${label}: tensor '${info.name}' is neither a ${cf.peftType} parameter nor a copy of a module in modules_to_save`,
      );
    }
    const target = base.info(baseName);
    if (target === undefined)
      fail(`${label}: '${info.name}' replaces '${baseName}', which is not in ${base.path}`);
    if (shapeText(target!.shape) !== shapeText(info.shape)) {
      fail(
        `shape mismatch at '${baseName}': base ${shapeText(target!.shape)}, modules_to_save copy in ${label} ${shapeText(info.shape)}`,
      );
    }
    return [baseName, info.name];
  });
}

/**
 * Checks every adapter against the base (every adapted module exists as `<module>.weight`, the
 * factors have exactly the shapes the variant creates for that weight, full copies match the
 * tensors they replace, all dtypes are floats) and returns what to do per base tensor.
 *
 * @throws AdapterFilesError naming the module and both shapes on the first problem.
 */
export function planMerge(base: TensorFile, adapters: readonly OpenedAdapter[]): MergePlan {
  checkFloatBase(base);
  const updates = new Map<string, ModuleUpdate[]>();
  const replacements = new Map<string, { adapter: OpenedAdapter; tensor: string }>();
  for (const adapter of adapters) {
    const cf = adapter.configFile ?? fail(`${adapter.reader.path}: merging needs the adapter's config`);
    for (const [weightName, u] of moduleUpdates(base, adapter, cf)) {
      updates.set(weightName, [...(updates.get(weightName) ?? []), u]);
    }
    for (const [baseName, tensor] of replacementsOf(base, adapter, cf))
      replacements.set(baseName, { adapter, tensor });
  }
  for (const name of replacements.keys()) {
    if (updates.has(name)) fail(`'${name}' is both adapted and replaced by a full copy`);
  }
  return { updates, replacements };
}
