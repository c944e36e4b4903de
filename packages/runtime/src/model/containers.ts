import type { Tensor } from "@lycoris-ts/kernels";
import { Module } from "./module";

/** A module that only groups named children; it has no forward. */
export class Container extends Module {
  readonly kind = "container";

  /** Optionally registers `children` in the object's key order. */
  constructor(children: Readonly<Record<string, Module>> = {}) {
    super();
    for (const [name, m] of Object.entries(children)) this.registerModule(name, m);
  }
}

/** An indexed list of children named `"0".."n-1"`, as torch `nn.ModuleList`; it has no forward. */
export class ModuleList extends Module {
  readonly kind = "module_list";

  constructor(modules: Iterable<Module> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  /** Number of children. */
  get length(): number {
    return this.children().size;
  }

  /** Adds `m` as child `String(length)`. */
  append(m: Module): this {
    this.registerModule(String(this.length), m);
    return this;
  }

  /** The child at index `i` (negative counts from the end), or `undefined`. */
  at(i: number): Module | undefined {
    const k = i < 0 ? this.length + i : i;
    return this.children().get(String(k));
  }
}

/**
 * Children `"0".."n-1"` run one after another, as torch `nn.Sequential`;
 * backward runs them in reverse.
 */
export class Sequential extends Module {
  readonly kind = "sequential";

  constructor(...modules: Module[]) {
    super();
    for (const m of modules) this.append(m);
  }

  /** Number of children. */
  get length(): number {
    return this.children().size;
  }

  /** Adds `m` as child `String(length)`. */
  append(m: Module): this {
    this.registerModule(String(this.length), m);
    return this;
  }

  override forward(x: Tensor<Float32Array>): Tensor<Float32Array> {
    let y = x;
    for (const m of this.children().values()) y = m.forward(y);
    return y;
  }

  override backward(dy: Tensor<Float32Array>): Tensor<Float32Array> {
    const mods = [...this.children().values()];
    let g = dy;
    for (let i = mods.length - 1; i >= 0; i--) g = mods[i]!.backward(g);
    return g;
  }
}
