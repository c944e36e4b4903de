import { defaultTargetModules } from "./default-target-modules";
import { LycorisConfigError } from "./errors";
import type { LycorisConfig } from "./lycoris-config";
import { findMinimalTargetModules, MIN_TARGET_MODULES_FOR_OPTIMIZATION } from "./minimal-target-modules";
import type { ModelDescription, ModuleKind } from "./model-description";
import { createModuleMatcher, matchesNameOrSuffix } from "./module-matching";
import { peftSilentWarningMessage } from "./peft-silent-warnings";
import { pythonRepr, pythonSetRepr, pythonStr } from "./python-repr";
import { resolveRankAndAlpha } from "./rank-pattern";

/** What {@link selectTargetModules} found. */
export interface TargetSelection {
  /** Adapted module names, in model order. */
  readonly targets: readonly string[];
  /**
   * `target_modules` as PEFT holds it after injection (and writes it to `adapter_config.json`): the regex
   * string, the list (with model-type defaults filled in, `"all-linear"` resolved to explicit names, and
   * lists of 20 or more names condensed to suffixes, as PEFT does).
   */
  readonly resolvedTargetModules: string | readonly string[] | null;
  /** Things PEFT silently ignores or only warns about. */
  readonly warnings: readonly string[];
}

/** Options of {@link selectTargetModules}. */
export interface SelectTargetModulesOptions {
  /** Module kinds the adapter supports; default `["linear", "conv1d", "conv2d"]` (LoKr and LoHa). */
  readonly supportedKinds?: readonly ModuleKind[];
  /** Also run PEFT's per-module rank check while selecting, in PEFT's order; default true. */
  readonly validateRanks?: boolean;
}

const DEFAULT_SUPPORTED: readonly ModuleKind[] = ["linear", "conv1d", "conv2d"];
const LINEAR_KINDS: readonly ModuleKind[] = ["linear", "gpt2_conv1d"];
const SEQ_CLS_HEAD_NAMES = ["score", "classifier"];

/** The Python class PEFT names in its "not supported" message, per module kind. */
const TORCH_CLASS: Readonly<Record<string, string>> = {
  container: "torch.nn.modules.module.Module",
  module_list: "torch.nn.modules.container.ModuleList",
  linear: "torch.nn.modules.linear.Linear",
  conv1d: "torch.nn.modules.conv.Conv1d",
  conv2d: "torch.nn.modules.conv.Conv2d",
  conv3d: "torch.nn.modules.conv.Conv3d",
  embedding: "torch.nn.modules.sparse.Embedding",
  layernorm: "torch.nn.modules.normalization.LayerNorm",
  gpt2_conv1d: "transformers.pytorch_utils.Conv1D",
  relu: "torch.nn.modules.activation.ReLU",
};
/** PEFT lists supported layers in its `layers_mapping` order. */
const SUPPORTED_ORDER = ["conv2d", "conv1d", "linear"];

function shortClassName(kind: string): string {
  const full = TORCH_CLASS[kind];
  return full ? (full.split(".").pop() as string) : kind;
}

function unsupported(name: string, kind: ModuleKind, supported: readonly ModuleKind[]): never {
  const ordered = [...supported].sort((a, b) => {
    const ia = SUPPORTED_ORDER.indexOf(a);
    const ib = SUPPORTED_ORDER.indexOf(b);
    return (ia < 0 ? SUPPORTED_ORDER.length : ia) - (ib < 0 ? SUPPORTED_ORDER.length : ib);
  });
  const list = ordered.map(shortClassName).join(", ");
  throw new LycorisConfigError(
    "unsupported_module_type",
    `Target module of type <class '${TORCH_CLASS[kind] ?? kind}'> not supported, currently only adapters for ${list} are supported`,
    { field: name, expected: `a module of kind ${supported.join(", ")}`, received: kind },
  );
}

function targetsRepr(targets: string | readonly string[]): string {
  return typeof targets === "string" ? targets : pythonSetRepr(targets);
}

function layerNotes(config: LycorisConfig): string {
  let note = "";
  if (config.layersToTransform !== null) {
    note += ` Note: You specified 'layers_to_transform': ${pythonRepr(config.layersToTransform)}.`;
  }
  if (config.layersPattern !== null)
    note += ` You also specified 'layers_pattern': ${pythonStr(config.layersPattern)}.`;
  return note;
}

/**
 * Picks the modules PEFT adapts for `config` on `model`, exactly as PEFT's `inject_adapter`: default targets
 * by model type when `targetModules` is null, `"all-linear"` (linear and GPT-2 Conv1D layers, minus the output
 * layer), list entries matching a whole name or a dotted suffix, a string as a full-match regex,
 * `excludeModules`, `modulesToSave` (never adapted), and `layersToTransform`/`layersPattern`. Throws a
 * {@link LycorisConfigError} with PEFT's kind and message: `target_modules_required`,
 * `unsupported_module_type` / `invalid_rank` (at the first offending module, in model order),
 * `no_target_match`, `all_modules_excluded`, `no_modules_targeted`, `invalid_regex`.
 */
export function selectTargetModules(
  config: LycorisConfig,
  model: ModelDescription,
  opts: SelectTargetModulesOptions = {},
): TargetSelection {
  const supported = opts.supportedKinds ?? DEFAULT_SUPPORTED;
  const validateRanks = opts.validateRanks ?? true;
  const warnings: string[] = [];
  const names = model.modules.map((m) => m.name);

  let targetModules: string | readonly string[];
  if (config.targetModules === null) {
    const defaults = defaultTargetModules(model.modelType);
    if (defaults === null) {
      // PEFT's wording mentions `target_parameters` for the configs that have that field (LoRA).
      throw new LycorisConfigError(
        "target_modules_required",
        "targetParameters" in config
          ? "Please specify `target_modules` or `target_parameters`in `peft_config`"
          : "Please specify `target_modules` in `peft_config`",
        {
          field: "targetModules",
          expected: "target modules, or a model type with PEFT defaults",
          received: model.modelType ?? null,
        },
      );
    }
    targetModules = defaults;
  } else {
    targetModules = config.targetModules;
  }

  if (typeof targetModules === "string" && targetModules.toLowerCase() === "all-linear") {
    const skip = new Set<string>();
    if (model.outputLayer) skip.add(model.outputLayer);
    else if (config.taskType === "SEQ_CLS") {
      const head = SEQ_CLS_HEAD_NAMES.find((h) => names.includes(h));
      if (head !== undefined) skip.add(head);
    }
    targetModules = model.modules
      .filter((m) => LINEAR_KINDS.includes(m.kind) && !skip.has(m.name))
      .map((m) => m.name);
  }

  if (typeof targetModules === "string") {
    for (const [field, value] of [
      ["layers_to_transform", config.layersToTransform],
      ["layers_pattern", config.layersPattern],
    ] as const) {
      if (value !== null) {
        warnings.push(peftSilentWarningMessage("regex_target_ignores_layer_selection", field, value));
      }
    }
  } else if (targetModules.length >= MIN_TARGET_MODULES_FOR_OPTIMIZATION) {
    const list = targetModules;
    const others = names.filter((n) => !list.includes(n) && !matchesNameOrSuffix(n, list) && n !== "");
    const minimal = findMinimalTargetModules(list, others);
    if (minimal.length < list.length) targetModules = minimal;
  }

  const matcher = createModuleMatcher(config, targetModules);
  const targets: string[] = [];
  const excluded: string[] = [];
  const unmatched: string[] = [];
  for (const module of model.modules) {
    const result = matcher(module.name);
    if (result === "excluded") excluded.push(module.name);
    else if (result === "unmatched") unmatched.push(module.name);
    else {
      targets.push(module.name);
      if (!supported.includes(module.kind)) unsupported(module.name, module.kind, supported);
      if (validateRanks) resolveRankAndAlpha(config, module.name);
    }
  }

  if (targets.length === 0) {
    const details = {
      field: "targetModules",
      expected: "at least one adapted module",
      received: targetModules,
    };
    if (excluded.length > 0 && unmatched.length === 0) {
      throw new LycorisConfigError(
        "all_modules_excluded",
        "All modules were excluded. This is likely unintended. Check your `target_modules`, `exclude_modules` and `modules_to_save` configuration.",
        details,
      );
    }
    if (excluded.length === 0 && unmatched.length > 0 && targetModules.length === 0) {
      throw new LycorisConfigError(
        "no_target_match",
        "No `target_modules` passed but also no `target_parameters` found. Please check the values for these arguments.",
        details,
      );
    }
    if (excluded.length === 0 && unmatched.length > 0) {
      throw new LycorisConfigError(
        "no_target_match",
        `Target modules ${targetsRepr(targetModules)} not found in the base model. Please check the target modules and try again.${layerNotes(config)}`,
        details,
      );
    }
    throw new LycorisConfigError(
      "no_modules_targeted",
      "No modules were targeted for adaptation. This might be caused by a combination of mismatched target modules and excluded modules. Please check your `target_modules` and `exclude_modules` configuration. You may also have only targeted modules that are marked to be saved (`modules_to_save`).".concat(
        layerNotes(config),
      ),
      details,
    );
  }
  const exclude = config.excludeModules;
  if (exclude !== null && exclude.length > 0 && excluded.length === 0) {
    warnings.push(
      `You have passed exclude_modules=${targetsRepr(exclude)} but no modules were excluded. Please check that exclude_modules was set correctly.`,
    );
  }

  return {
    targets: Object.freeze(targets),
    resolvedTargetModules:
      typeof targetModules === "string" ? targetModules : Object.freeze([...targetModules]),
    warnings: Object.freeze(warnings),
  };
}
