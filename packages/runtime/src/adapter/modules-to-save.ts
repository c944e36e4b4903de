import type { Tensor } from "@lycoris-ts/kernels";
import { Container } from "../model/containers";
import { Module } from "../model/module";
import { cloneModule } from "./clone-module";

/**
 * PEFT's `ModulesToSaveWrapper`: keeps the original module frozen and trains a
 * full copy per adapter (`<name>.modules_to_save.<adapter>`); forward uses the
 * active adapter's copy, or the original when adapters are disabled.
 */
export class ModulesToSaveWrapper extends Module {
  readonly kind = "modules_to_save";
  #active: string | null = null;
  #disabled = false;
  #last: Module | null = null;

  constructor(original: Module) {
    super();
    this.registerModule("original_module", original);
    this.registerModule("modules_to_save", new Container());
    for (const p of original.parameters()) p.requiresGrad = false;
    this.training = original.training;
  }

  /** The wrapped original module. */
  get originalModule(): Module {
    return this.children().get("original_module")!;
  }

  /** The copy trained for `adapter`, or `undefined`. */
  copyOf(adapter: string): Module | undefined {
    return this.children().get("modules_to_save")!.children().get(adapter);
  }

  /** Adapter names that have a copy. */
  get adapterNames(): string[] {
    return [...this.children().get("modules_to_save")!.children().keys()];
  }

  /** Creates the trainable copy for `adapter` (from the original module). */
  addAdapter(adapter: string): void {
    if (this.copyOf(adapter) !== undefined) return;
    const copy = cloneModule(this.originalModule);
    for (const p of copy.parameters()) p.requiresGrad = true;
    this.children().get("modules_to_save")!.registerModule(adapter, copy);
  }

  /** Removes the copy of `adapter`. */
  deleteAdapter(adapter: string): void {
    const kept = new Container();
    for (const [name, copy] of this.children().get("modules_to_save")!.children()) {
      if (name !== adapter) kept.registerModule(name, copy);
    }
    this.registerModule("modules_to_save", kept);
    if (this.#active === adapter) this.#active = null;
  }

  /** Makes `adapter`'s copy the one used by forward (and the only trainable one). */
  setAdapter(adapters: readonly string[]): void {
    this.#active = adapters.find((a) => this.copyOf(a) !== undefined) ?? null;
    for (const name of this.adapterNames) {
      for (const p of this.copyOf(name)!.parameters()) p.requiresGrad = name === this.#active;
    }
  }

  /** Whether forward bypasses the copies. */
  setDisabled(disabled: boolean): void {
    this.#disabled = disabled;
  }

  /** The module forward currently uses. */
  get current(): Module {
    if (this.#disabled || this.#active === null) return this.originalModule;
    return this.copyOf(this.#active) ?? this.originalModule;
  }

  /** The active adapter whose copy is used, or `null`. */
  get activeAdapter(): string | null {
    return this.#active;
  }

  override forward(x: Tensor<Float32Array>): Tensor<Float32Array> {
    this.#last = this.current;
    return this.#last.forward(x);
  }

  override backward(dy: Tensor<Float32Array>): Tensor<Float32Array> {
    return (this.#last ?? this.current).backward(dy);
  }
}
