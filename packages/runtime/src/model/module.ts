import { formatShape, sameShape, type Tensor } from "@lycoris-ts/kernels";
import { ModelError } from "./model-error";
import type { Parameter } from "./parameter";

/** Options of {@link Module.loadStateDict}. */
export interface LoadStateDictOptions {
  /** When true (the default), missing and unexpected keys are errors, as in torch. */
  readonly strict?: boolean;
}

/**
 * A node of the model tree, like torch's `nn.Module`: named children and named
 * parameters in registration order, train/eval mode, state dicts, and a
 * forward/backward pair for layers that compute something.
 *
 * `backward(dy)` uses the input kept by the last `forward`; a forward keeps its
 * input only in training mode or when {@link Module.keepInputs} is set.
 */
export abstract class Module {
  /** The module kind, as in a model description: `"linear"`, `"conv2d"`, `"container"`, ... */
  abstract readonly kind: string;
  /** Training mode (true by default, as in torch); set through {@link Module.train}. */
  training = true;
  /** Keep forward inputs for a later backward even in eval mode. */
  keepInputs = false;

  readonly #modules = new Map<string, Module>();
  readonly #parameters = new Map<string, Parameter | null>();
  #cachedInput: Tensor<Float32Array> | null = null;

  /** Adds (or replaces in place, keeping its position) the child `name`. */
  registerModule(name: string, m: Module): void {
    checkName(name);
    this.#modules.set(name, m);
  }

  /**
   * Adds (or replaces in place) the parameter `name`. `null` declares an absent
   * optional parameter (such as a disabled bias): it is skipped everywhere.
   */
  registerParameter(name: string, p: Parameter | null): void {
    checkName(name);
    this.#parameters.set(name, p);
  }

  /** Removes the child `name`; returns whether it existed. */
  deleteModule(name: string): boolean {
    return this.#modules.delete(name);
  }

  /** Removes the parameter slot `name` (unlike registering `null`, the slot disappears); returns whether it existed. */
  deleteParameter(name: string): boolean {
    return this.#parameters.delete(name);
  }

  /** The parameter registered under `name` on this module (not its children), or `null`. */
  getParameter(name: string): Parameter | null {
    return this.#parameters.get(name) ?? null;
  }

  /** The direct children, in registration order. */
  children(): ReadonlyMap<string, Module> {
    return this.#modules;
  }

  /** Every module of the subtree, depth first in registration order; the root comes first, named `prefix`. */
  *namedModules(prefix = ""): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [name, child] of this.#modules) {
      yield* child.namedModules(joinName(prefix, name));
    }
  }

  /** Every module of the subtree, root first (see {@link Module.namedModules}). */
  *modules(): Generator<Module> {
    for (const [, m] of this.namedModules()) yield m;
  }

  /**
   * Every parameter of the subtree with its dotted name, in torch's order (a
   * module's own parameters, then its children's). A parameter object reachable
   * under several names is reported once. With `recurse = false`, only this
   * module's own parameters.
   */
  *namedParameters(prefix = "", recurse = true): Generator<[string, Parameter]> {
    const seen = new Set<Parameter>();
    const modules: Iterable<[string, Module]> = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [modName, m] of modules) {
      for (const [name, p] of m.#parameters) {
        if (p === null || seen.has(p)) continue;
        seen.add(p);
        yield [joinName(modName, name), p];
      }
    }
  }

  /** Every parameter of the subtree (see {@link Module.namedParameters}). */
  *parameters(): Generator<Parameter> {
    for (const [, p] of this.namedParameters()) yield p;
  }

  /** The module at a dotted path (`""` is this module). Throws `not_found`. */
  getSubmodule(path: string): Module {
    if (path === "") return this;
    let m: Module = this;
    for (const part of path.split(".")) {
      const next = m.#modules.get(part);
      if (next === undefined) {
        throw new ModelError("not_found", `module '${path}' not found: no child '${part}'`, { field: path });
      }
      m = next;
    }
    return m;
  }

  /**
   * Puts `m` at a dotted path. The parent must exist; an existing module there is
   * replaced in place (same position in the iteration order).
   */
  setSubmodule(path: string, m: Module): void {
    if (path === "") {
      throw new ModelError("invalid_input", "cannot replace the root module", { field: path });
    }
    const dot = path.lastIndexOf(".");
    const parent = dot < 0 ? this : this.getSubmodule(path.slice(0, dot));
    parent.registerModule(path.slice(dot + 1), m);
  }

  /** Sets training mode on the whole subtree. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) {
      m.training = mode;
      if (!mode && !m.keepInputs) m.#cachedInput = null;
    }
    return this;
  }

  /** Sets eval mode on the whole subtree (same as `train(false)`). */
  eval(): this {
    return this.train(false);
  }

  /** Parameter values by dotted name, in torch's order; tensors are shared, not copied. */
  stateDict(): Map<string, Tensor<Float32Array>> {
    const out = new Map<string, Tensor<Float32Array>>();
    for (const [modName, m] of this.namedModules()) {
      for (const [name, p] of m.#parameters) {
        if (p !== null) out.set(joinName(modName, name), p.data);
      }
    }
    return out;
  }

  /**
   * Copies values into the parameters (their tensors keep their identity). Every
   * given tensor is checked against the parameter's shape before anything is
   * written; a mismatch throws `shape_mismatch` naming the key and both shapes.
   * With `strict` (default), missing or unexpected keys throw as well.
   */
  loadStateDict(sd: ReadonlyMap<string, Tensor<Float32Array>>, opts: LoadStateDictOptions = {}): void {
    const strict = opts.strict ?? true;
    const params = new Map<string, Parameter>();
    for (const [modName, m] of this.namedModules()) {
      for (const [name, p] of m.#parameters) {
        if (p !== null) params.set(joinName(modName, name), p);
      }
    }
    if (strict) {
      const missing = [...params.keys()].filter((k) => !sd.has(k));
      if (missing.length > 0) {
        throw new ModelError(
          "missing_key",
          `state dict is missing ${missing.length} key(s): ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ", ..." : ""}`,
          { field: missing[0]!, expected: "present", received: "missing" },
        );
      }
      const extra = [...sd.keys()].filter((k) => !params.has(k));
      if (extra.length > 0) {
        throw new ModelError(
          "unexpected_key",
          `state dict has ${extra.length} unexpected key(s): ${extra.slice(0, 5).join(", ")}${extra.length > 5 ? ", ..." : ""}`,
          { field: extra[0]!, expected: "absent", received: "present" },
        );
      }
    }
    for (const [key, t] of sd) {
      const p = params.get(key);
      if (p === undefined) continue;
      if (!sameShape(p.data.shape, t.shape) || t.data.length !== p.data.data.length) {
        throw new ModelError(
          "shape_mismatch",
          `state dict entry '${key}' has shape ${formatShape(t.shape)}, the model expects ${formatShape(p.data.shape)}`,
          { field: key, expected: formatShape(p.data.shape), received: formatShape(t.shape) },
        );
      }
    }
    for (const [key, t] of sd) {
      const p = params.get(key);
      if (p !== undefined) p.data.data.set(t.data);
    }
  }

  /** Clears the gradient of every parameter of the subtree. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Computes the output for `x`. Containers without a forward throw `not_supported`. */
  forward(_x: Tensor<Float32Array>): Tensor<Float32Array> {
    throw new ModelError("not_supported", `a '${this.kind}' module has no forward`, { field: this.kind });
  }

  /**
   * Back-propagates `dy` (the gradient of the loss w.r.t. the last forward's
   * output): accumulates parameter gradients (when `requiresGrad`) and returns
   * the gradient w.r.t. that forward's input.
   */
  backward(_dy: Tensor<Float32Array>): Tensor<Float32Array> {
    throw new ModelError("not_supported", `a '${this.kind}' module has no backward`, { field: this.kind });
  }

  /** Keeps `x` for backward when training or when `keepInputs` is set. For subclasses' `forward`. */
  protected saveInput(x: Tensor<Float32Array>): void {
    this.#cachedInput = this.training || this.keepInputs ? x : null;
  }

  /** The input kept by the last forward; throws `no_cached_input`. For subclasses' `backward`. */
  protected savedInput(): Tensor<Float32Array> {
    const x = this.#cachedInput;
    if (x === null) {
      throw new ModelError(
        "no_cached_input",
        `backward on a '${this.kind}' module needs a forward in training mode (or with keepInputs) first`,
        { field: this.kind },
      );
    }
    return x;
  }
}

function checkName(name: string): void {
  if (name === "" || name.includes(".")) {
    throw new ModelError(
      "invalid_input",
      `invalid module or parameter name '${name}': must be non-empty, no dots`,
      {
        field: name,
        expected: "a non-empty name without dots",
      },
    );
  }
}

function joinName(prefix: string, name: string): string {
  return prefix === "" ? name : `${prefix}.${name}`;
}
