import { fanIn, kaimingUniform, normalTensor, type Rng, uniformTensor } from "@lycoris-ts/kernels";
import { ConvLayer } from "./conv";
import { Embedding } from "./embedding";
import { GPT2Conv1D } from "./gpt2-conv1d";
import { LayerNorm } from "./layer-norm";
import { Linear } from "./linear";
import type { Module } from "./module";
import type { Parameter } from "./parameter";

/**
 * Gives every built-in layer of the tree torch's default initial values, drawing
 * from `rng` in tree order (weight before bias):
 * - Linear / Conv1d / Conv2d / Conv3d: weight kaiming-uniform with a = √5 (`U(±1/sqrt(fanIn))`),
 *   bias `U(±1/sqrt(fanIn))` with the weight's fan-in;
 * - GPT2Conv1D: weight `N(0, 0.02²)`, bias zeros (as transformers);
 * - Embedding: `N(0, 1)`; LayerNorm: weight ones, bias zeros.
 * Values are copied into the existing tensors; other modules are left as they are.
 */
export function initModuleParameters(m: Module, rng: Rng): void {
  for (const [, mod] of m.namedModules()) {
    if (mod instanceof Linear || mod instanceof ConvLayer) {
      const w = mod.weight;
      assign(w, kaimingUniform(w.shape, rng, Math.sqrt(5)).data);
      const bias = mod.bias;
      if (bias !== null) {
        const f = fanIn(w.shape);
        const bound = f > 0 ? 1 / Math.sqrt(f) : 0;
        assign(bias, uniformTensor(bias.shape, rng, -bound, bound).data);
      }
    } else if (mod instanceof GPT2Conv1D) {
      assign(mod.weight, normalTensor(mod.weight.shape, rng, 0.02).data);
      mod.bias.data.data.fill(0);
    } else if (mod instanceof Embedding) {
      assign(mod.weight, normalTensor(mod.weight.shape, rng, 1).data);
    } else if (mod instanceof LayerNorm) {
      mod.weight?.data.data.fill(1);
      mod.bias?.data.data.fill(0);
    }
  }
}

function assign(p: Parameter, values: Float32Array): void {
  p.data.data.set(values);
}
