import { tensor } from "@lycoris-ts/kernels";
import { buildModelFromDescription } from "../model/build-from-description";
import type { Module } from "../model/module";
import { describeModule } from "./describe-model";

/**
 * A deep copy of a module subtree (same kinds, hyper-parameters and values; no
 * shared tensors), as `copy.deepcopy` in PEFT's modules-to-save wrapper.
 */
export function cloneModule(m: Module): Module {
  const modules = [...m.namedModules("copy")].map(([name, sub]) => describeModule(name, sub));
  const root = buildModelFromDescription({ modules });
  const copy = root.getSubmodule("copy");
  const values = new Map(
    [...m.stateDict()].map(([k, t]) => [k, tensor(Float32Array.from(t.data), t.shape)] as const),
  );
  copy.loadStateDict(values, { strict: true });
  copy.train(m.training);
  return copy;
}
