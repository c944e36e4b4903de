import type { ScratchPool, Tensor } from "@lycoris-ts/kernels";
import { applyLoaderPatch, type LoaderPatch, type LoaderPatchTarget } from "@lycoris-ts/lycoris-format";
import { mergeIntoWeight } from "@lycoris-ts/runtime";
import type { OpenedAdapter } from "./open-adapter";
import type { ModuleUpdate } from "./plan-merge";

/** One kohya / LyCORIS / diffusers / ... file module patching one base tensor (ComfyUI's patch). */
export interface LoaderPatchStep {
  readonly source: "loader";
  /** The adapter input, as messages name it. */
  readonly adapter: string;
  readonly patch: LoaderPatch;
  /** The weight or bias part, the rows, and the function on ΔW. */
  readonly target: LoaderPatchTarget;
  readonly strength: number;
}

/** One PEFT adapter module's update of its base weight: `W += strength · scaling · ΔW`. */
export interface PeftPatchStep {
  readonly source: "peft";
  readonly adapter: string;
  readonly update: ModuleUpdate;
  readonly strength: number;
}

export type PatchStep = LoaderPatchStep | PeftPatchStep;

/** A full copy replacing a base tensor (PEFT `modules_to_save`). */
export interface PatchReplacement {
  readonly adapter: OpenedAdapter;
  readonly tensor: string;
}

/**
 * What a multi-adapter merge does, built and checked before anything is written: base tensor →
 * its patches in adapter order (each applied to the result of the previous ones, as ComfyUI's
 * `calculate_weight` applies a key's patch list), and the tensors replaced by full copies.
 */
export interface PatchPlan {
  readonly steps: ReadonlyMap<string, readonly PatchStep[]>;
  readonly replacements: ReadonlyMap<string, PatchReplacement>;
}

/** A plan under construction. */
export interface PatchPlanBuilder extends PatchPlan {
  readonly steps: Map<string, PatchStep[]>;
  readonly replacements: Map<string, PatchReplacement>;
}

export function emptyPatchPlan(): PatchPlanBuilder {
  return { steps: new Map(), replacements: new Map() };
}

/** Appends `step` to the patches of base tensor `tensor`. */
export function addPatchStep(plan: PatchPlanBuilder, tensor: string, step: PatchStep): void {
  const list = plan.steps.get(tensor);
  if (list === undefined) plan.steps.set(tensor, [step]);
  else list.push(step);
}

/**
 * Applies a base tensor's patches in order, in place, on `weight` (the engine's buffer: it is
 * patched and handed back, never kept). PEFT updates read their factors lazily. ΔW goes into
 * `scratch` (the merge call's pool, reused for every tensor) when given.
 */
export async function applyPatchSteps(
  weight: Tensor<Float32Array>,
  steps: readonly PatchStep[],
  scratch?: ScratchPool,
): Promise<Tensor<Float32Array>> {
  for (const step of steps) {
    if (step.source === "loader") {
      applyLoaderPatch(weight, step.patch, step.target, step.strength, scratch);
      continue;
    }
    await applyModuleUpdate(weight, step.update, step.strength, scratch);
  }
  return weight;
}

/**
 * `weight += strength · scaling · ΔW` for one PEFT adapter module (runtime's `mergeIntoWeight`), ΔW in
 * `scratch` when given.
 */
export async function applyModuleUpdate(
  weight: Tensor<Float32Array>,
  u: ModuleUpdate,
  strength: number,
  scratch?: ScratchPool,
): Promise<void> {
  const params: Record<string, Tensor<Float32Array>> = {};
  for (const [param, tensor] of u.params) params[param] = await u.adapter.reader.read(tensor);
  mergeIntoWeight(u.variant, weight, params, u.ctx, u.scaling * strength, scratch);
}

/** The element count of the largest of `names` in `file` (what a merge's scratch pool reserves). */
export function largestTensor(
  file: { info(name: string): { readonly shape: readonly number[] } | undefined },
  names: Iterable<string>,
): number {
  let most = 0;
  for (const name of names) {
    const shape = file.info(name)?.shape ?? [];
    most = Math.max(
      most,
      shape.reduce((a, b) => a * b, 1),
    );
  }
  return most;
}
