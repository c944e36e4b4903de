import { ScratchPool, type Tensor } from "@lycoris-ts/kernels";
import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { AdapterFilesError } from "./adapter-files-error";
import { checkOutputPath } from "./check-output-path";
import {
  type AdapterInput,
  type BaseInput,
  baseInputFiles,
  type FileInput,
  type FileOutput,
  inputName,
} from "./file-input";
import { isShardedBasePath, selectPeftAdapters } from "./merge-adapters";
import { type MergeWarning, refuseUnplaced } from "./merge-warning";
import { nodeFs } from "./node-builtins";
import { closeAdapters, type OpenedAdapter, openAdapters } from "./open-adapter";
import { checkBaseModel, openBaseModel } from "./open-base-model";
import {
  addPatchStep,
  applyPatchSteps,
  emptyPatchPlan,
  largestTensor,
  type PatchPlanBuilder,
} from "./patch-plan";
import { type FilePatchPlan, planFilePatches } from "./plan-file-patches";
import { checkFloatBase, planMerge } from "./plan-merge";
import { type MergedOutputOptions, planMergedLayout, writesOneFile } from "./plan-merged-layout";
import { readAdapterFile } from "./read-adapter-file";
import type { TensorFile } from "./tensor-file";
import { type MergedCopyOptions, writeMergedCopy } from "./write-merged-copy";

/** One adapter of a {@link mergeIntoBase} call. */
export interface MergeAdapterSpec {
  /**
   * A single adapter file (kohya / LyCORIS / diffusers / OneTrainer / ai-toolkit names, path or
   * Blob) or a PEFT adapter directory (path or its files).
   */
  readonly input: AdapterInput;
  /** The strength (ComfyUI's LoRA strength; PEFT: the multiplier of ΔW). Default 1. */
  readonly strength?: number;
  /** PEFT directories: the adapters to merge, in order (default `"default"` or the only one). */
  readonly adapterNames?: readonly string[];
  /** Single files on bases the key map does not know: file prefix → sub-model root. */
  readonly prefixes?: Readonly<Record<string, string>>;
}

/** Options of {@link mergeIntoBase}. */
export interface MergeIntoBaseOptions extends MergedCopyOptions, MergedOutputOptions {
  /** The base checkpoint (`.safetensors`), or a sharded one's `*.safetensors.index.json` (or its directory) or files. */
  readonly base: BaseInput;
  /** The adapters, applied in this order (each patch on the result of the previous ones). */
  readonly adapters: readonly MergeAdapterSpec[];
  /** Where to write the merged model (a path is written atomically and never over an input). */
  readonly out: FileOutput;
  readonly registry: AdapterRegistry;
  /** Refuse (`AdapterFilesError` `unplaced`, before any output exists) when any adapter key is not placed or not applied. */
  readonly strict?: boolean;
  /** Called for every adapter key that is not placed / not applied, before the output is created. */
  readonly onWarning?: (warning: MergeWarning) => void;
}

/** What one adapter contributed. */
export interface MergedAdapterSummary {
  /** The input, as messages name it. */
  readonly input: string;
  /** `peft` (an adapter directory) or `file` (one single-file adapter). */
  readonly format: "peft" | "file";
  readonly strength: number;
  /** PEFT: the adapters merged; file: `[]`. */
  readonly adapterNames: readonly string[];
  /** Modules patched (PEFT: adapted modules, full copies not counted). */
  readonly modules: number;
  /** Patched modules per kind: ComfyUI's kind through the key map (`lora`, `lokr`, `diff`), else the variant's `peft_type`. */
  readonly kinds: Readonly<Record<string, number>>;
  /** Modules with DoRA magnitudes. */
  readonly dora: number;
  /** Files: how keys were resolved (`key-map`: ComfyUI's names for SD1.x / SDXL / Flux; `prefixes`). */
  readonly resolution: "key-map" | "prefixes" | null;
  /** Files resolved by prefixes: prefix → sub-model root. */
  readonly prefixes: Readonly<Record<string, string>>;
}

/** What a {@link mergeIntoBase} call did. */
export interface MergeIntoBaseSummary {
  /** Tensors written (all of the base's). */
  readonly tensors: number;
  /** Base tensors changed by at least one patch. */
  readonly patchedTensors: number;
  /** Base tensors replaced by full copies (PEFT `modules_to_save`). */
  readonly replacedTensors: number;
  readonly adapters: readonly MergedAdapterSummary[];
  /** Every adapter key not placed or not applied, in adapter and file order. */
  readonly warnings: readonly MergeWarning[];
}

/** Whether an adapter input is one file (path to a file, or a Blob) rather than a PEFT directory. */
export async function isSingleFileAdapter(input: AdapterInput): Promise<boolean> {
  if (input instanceof Blob) return true;
  if (typeof input !== "string") return false;
  const s = await nodeFs()
    .stat(input)
    .catch(() => null);
  return s?.isFile() === true;
}

interface OpenedSpec {
  readonly spec: MergeAdapterSpec;
  readonly label: string;
  readonly file: ReadonlyMap<string, Tensor<Float32Array>> | null;
  readonly peft: { readonly names: readonly string[]; readonly adapters: OpenedAdapter[] } | null;
}

/** The inputs a merge's output must not touch. */
interface MergeInputs {
  readonly files: FileInput[];
  readonly dirs: AdapterInput[];
}

/**
 * Opens every adapter (PEFT: lazily; files: read whole) after checking a one-file output against all
 * inputs (a sharded output is checked when its layout is planned); returns the inputs.
 */
async function openSpecs(o: MergeIntoBaseOptions, opened: OpenedSpec[]): Promise<MergeInputs> {
  const files: FileInput[] = [];
  const dirs: AdapterInput[] = [];
  const pending: { spec: MergeAdapterSpec; peft: Awaited<ReturnType<typeof selectPeftAdapters>> | null }[] =
    [];
  for (const spec of o.adapters) {
    if (await isSingleFileAdapter(spec.input)) {
      files.push(spec.input as FileInput);
      pending.push({ spec, peft: null });
    } else {
      const peft = await selectPeftAdapters(spec.input, spec.adapterNames);
      files.push(...peft.inputFiles);
      dirs.push(...peft.inputDirs);
      pending.push({ spec, peft });
    }
  }
  if (writesOneFile(await isShardedBasePath(o.base), o))
    await checkOutputPath(o.out, [...baseInputFiles(o.base), ...files], dirs);
  for (const { spec, peft } of pending) {
    const label = inputName(spec.input);
    if (peft === null) {
      opened.push({ spec, label, file: await readAdapterFile(spec.input as FileInput, label), peft: null });
    } else {
      const adapters = await openAdapters(peft.selected, o.registry);
      opened.push({ spec, label, file: null, peft: { names: peft.names, adapters } });
    }
  }
  return { files, dirs };
}

function fileSummary(label: string, strength: number, p: FilePatchPlan): MergedAdapterSummary {
  return {
    input: label,
    format: "file",
    strength,
    adapterNames: [],
    modules: p.modules,
    kinds: p.kinds,
    dora: p.dora,
    resolution: p.resolution,
    prefixes: p.prefixes,
  };
}

/** Adds one PEFT directory's updates and full copies to the plan. */
function planPeft(
  base: TensorFile,
  plan: PatchPlanBuilder,
  s: OpenedSpec,
  strength: number,
): MergedAdapterSummary {
  const peft = s.peft!;
  const p = planMerge(base, peft.adapters);
  const kinds: Record<string, number> = {};
  let modules = 0;
  for (const [tensor, updates] of p.updates) {
    for (const update of updates) {
      addPatchStep(plan, tensor, { source: "peft", adapter: s.label, update, strength });
      kinds[update.variant.peftType] = (kinds[update.variant.peftType] ?? 0) + 1;
      modules++;
    }
  }
  for (const [tensor, r] of p.replacements) plan.replacements.set(tensor, r);
  return {
    input: s.label,
    format: "peft",
    strength,
    adapterNames: peft.names,
    modules,
    kinds,
    dora: 0,
    resolution: null,
    prefixes: {},
  };
}

/** Refuses a tensor that one adapter replaces by a full copy and another patches. */
function checkReplacements(plan: PatchPlanBuilder): void {
  for (const name of plan.replacements.keys()) {
    if (plan.steps.has(name)) {
      throw new AdapterFilesError(
        "input",
        `'${name}' is both patched and replaced by a full copy (modules_to_save)`,
      );
    }
  }
}

/** Plans every adapter in order; warnings reported (and, strict, refused) before anything is written. */
function planAll(
  base: TensorFile,
  opened: readonly OpenedSpec[],
  o: MergeIntoBaseOptions,
): { plan: PatchPlanBuilder; summaries: MergedAdapterSummary[]; warnings: MergeWarning[] } {
  const plan = emptyPatchPlan();
  const summaries: MergedAdapterSummary[] = [];
  const warnings: MergeWarning[] = [];
  for (const s of opened) {
    const strength = s.spec.strength ?? 1;
    if (s.file === null) {
      summaries.push(planPeft(base, plan, s, strength));
      continue;
    }
    const p = planFilePatches(base, s.file, {
      label: s.label,
      strength,
      registry: o.registry,
      ...(s.spec.prefixes === undefined ? {} : { prefixes: s.spec.prefixes }),
    });
    for (const [tensor, step] of p.steps) addPatchStep(plan, tensor, step);
    warnings.push(...p.warnings);
    summaries.push(fileSummary(s.label, strength, p));
  }
  checkReplacements(plan);
  return { plan, summaries, warnings };
}

/**
 * Merges several adapters into a base checkpoint in one streaming pass: any mix of single-file
 * adapters (kohya / LyCORIS / diffusers / OneTrainer / ai-toolkit layouts, placed on SD1.x, SDXL
 * and Flux checkpoints through ComfyUI's key map, on other models through their prefixes) and PEFT
 * adapter directories, each with its strength. Every base tensor gets its patches in adapter order,
 * with ComfyUI's rules (`W += s · f(scale · ΔW)` on the target rows, DoRA `W += s · (W' − W)`; PEFT
 * `W += s · scaling · ΔW`). Adapter keys that are not placed or not applied are returned as warnings
 * and passed to `onWarning`; `strict` refuses them. Everything is planned and checked before the
 * output is created; the output appears only complete.
 *
 * @throws AdapterFilesError (`unplaced` in strict mode, misfit patches, refused output, ...),
 *   LycorisFormatError (unreadable modules), SafetensorsError, AdapterError.
 */
export async function mergeIntoBase(o: MergeIntoBaseOptions): Promise<MergeIntoBaseSummary> {
  if (o.adapters.length === 0)
    throw new AdapterFilesError("input", "no adapters to merge (adapters is empty)");
  await checkBaseModel(o.base);
  const opened: OpenedSpec[] = [];
  let base: TensorFile | undefined;
  try {
    const inputs = await openSpecs(o, opened);
    base = await openBaseModel(o.base);
    checkFloatBase(base);
    const { plan, summaries, warnings } = planAll(base, opened, o);
    for (const w of warnings) o.onWarning?.(w);
    if (o.strict === true) refuseUnplaced(warnings);
    const file = base;
    const output = await planMergedLayout(file, o.out, o, inputs);
    // one ΔW buffer for the whole merge, sized to the largest patched tensor (a row swap grows slot 1)
    const scratch = new ScratchPool().reserve(largestTensor(file, plan.steps.keys()));
    const tensors = await writeMergedCopy(
      file,
      output,
      async (info, loadWeight) => {
        const steps = plan.steps.get(info.name);
        // engine-owned scratch, patched in place
        if (steps !== undefined) return applyPatchSteps(await loadWeight(), steps, scratch);
        const replacement = plan.replacements.get(info.name);
        return replacement === undefined ? null : replacement.adapter.reader.read(replacement.tensor);
      },
      o,
    );
    return {
      tensors,
      patchedTensors: plan.steps.size,
      replacedTensors: plan.replacements.size,
      adapters: summaries,
      warnings,
    };
  } finally {
    await base?.close();
    for (const s of opened) if (s.peft !== null) await closeAdapters(s.peft.adapters);
  }
}
