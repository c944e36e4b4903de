import { isModuleToSave, type LycorisConfig } from "@lycoris-ts/lycoris-config";
import type { AdapterContext, AdapterVariant } from "@lycoris-ts/runtime";
import type { SafetensorsReader } from "@lycoris-ts/safetensors";
import { isFloatDtype } from "@lycoris-ts/safetensors";
import { CliError } from "./cli-error";
import { fitModuleToBase } from "./fit-module-to-base";
import { shapeText } from "./layout-check";
import type { OpenedAdapter } from "./open-adapter";

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

/**
 * Checks every adapter against the base (every adapted module exists as `<module>.weight`, the
 * factors have exactly the shapes the variant creates for that weight, full copies match the
 * tensors they replace, all dtypes are floats) and returns what to do per base tensor.
 *
 * @throws CliError naming the module and both shapes on the first problem.
 */
export function planMerge(base: SafetensorsReader, adapters: readonly OpenedAdapter[]): MergePlan {
  const updates = new Map<string, ModuleUpdate[]>();
  const replacements = new Map<string, { adapter: OpenedAdapter; tensor: string }>();
  for (const info of base.header.tensors) {
    if (!isFloatDtype(info.dtype)) {
      throw new CliError(
        "unsupported",
        `${base.path}: tensor '${info.name}' has dtype ${info.dtype}; only float tensors (F32, F16, BF16, F64) can be copied`,
      );
    }
  }
  for (const adapter of adapters) {
    const cf = adapter.configFile;
    if (cf === null)
      throw new CliError("input", `${adapter.location.weightsPath}: merging needs the adapter's config`);
    const label = adapterLabel(adapter);
    for (const m of adapter.groups.modules) {
      if (m.variant !== cf.variant) {
        throw new CliError(
          "input",
          `module '${m.module}' of ${label} has ${m.variant === null ? "no adapter parameters" : `${m.variant.peftType} parameters`} but the config says peft_type ${cf.peftType}`,
        );
      }
      for (const p of m.params.values()) {
        if (!isFloatDtype(p.dtype)) {
          throw new CliError("input", `${label}: tensor '${p.name}' has dtype ${p.dtype}, not a float dtype`);
        }
      }
      const fit = fitModuleToBase(base, m, cf.config, cf.variant);
      if (!fit.ok) throw new CliError("input", `module '${m.module}' (${label}): ${fit.message}`);
      const { weightName, ctx, scaling } = fit;
      const list = updates.get(weightName) ?? [];
      list.push({
        adapter,
        module: m.module,
        variant: cf.variant,
        ctx,
        scaling,
        params: new Map([...m.params].map(([n, i]) => [n, i.name] as const)),
      });
      updates.set(weightName, list);
    }
    for (const [baseName, info] of adapter.groups.replacements) {
      const module = baseName.includes(".") ? baseName.slice(0, baseName.lastIndexOf(".")) : baseName;
      if (!isModuleToSave(cf.config, module)) {
        throw new CliError(
          "input",
          `${label}: tensor '${info.name}' is neither a ${cf.peftType} parameter nor a copy of a module in modules_to_save`,
        );
      }
      const target = base.info(baseName);
      if (target === undefined) {
        throw new CliError(
          "input",
          `${label}: '${info.name}' replaces '${baseName}', which is not in ${base.path}`,
        );
      }
      if (shapeText(target.shape) !== shapeText(info.shape)) {
        throw new CliError(
          "input",
          `shape mismatch at '${baseName}': base ${shapeText(target.shape)}, modules_to_save copy in ${label} ${shapeText(info.shape)}`,
        );
      }
      replacements.set(baseName, { adapter, tensor: info.name });
    }
  }
  for (const name of replacements.keys()) {
    if (updates.has(name))
      throw new CliError("input", `'${name}' is both adapted and replaced by a full copy`);
  }
  return { updates, replacements };
}
