import { createRng, type Rng, ScratchPool, type Tensor } from "@lycoris-ts/kernels";
import {
  type LycorisConfig,
  type ModelDescription,
  resolveRankAndAlpha,
  selectTargetModules,
} from "@lycoris-ts/lycoris-config";
import { describeModel, type ModelFacts } from "../adapter/describe-model";
import { isAdaptableLayer, layerGeometry } from "../adapter/layer-geometry";
import { type AdapterPadding, LycorisLayer } from "../adapter/lycoris-layer";
import { ModulesToSaveWrapper } from "../adapter/modules-to-save";
import { AdapterError } from "../errors";
import type { Module } from "../model/module";
import { type AdapterRegistry, defaultRegistry } from "../registry/adapter-registry";
import type { AdaptableKind, AdapterVariant } from "../registry/adapter-variant";
import { formatTrainableParameters } from "./trainable-parameters";

const DEFAULT_KINDS: readonly AdaptableKind[] = ["linear", "conv1d", "conv2d"];

/** Options of {@link getPeftModel} / {@link PeftModel}. */
export interface PeftModelOptions extends ModelFacts {
  /** Where variants are looked up (default: the process-wide registry). */
  readonly registry?: AdapterRegistry;
  /** Seed for parameter initialisation and training-time dropout (default 0). */
  readonly seed?: number;
  /** Padding of the adapter path for convs with a non-zero padding mode (default `"zeros"`, as PEFT). */
  readonly adapterPadding?: AdapterPadding;
  /**
   * The model description to select targets on for the first adapter (e.g. a
   * model.json); default: derived from the module tree.
   */
  readonly description?: ModelDescription;
  /**
   * Receives the warnings PEFT would print (embedding layers saved, unknown keys of a loaded config ignored,
   * ...) and the documented ones we add where PEFT is silent (`PEFT_SILENT_WARNINGS` of
   * `@lycoris-ts/lycoris-config`: a `layers_to_transform` ignored for a regex target, a dropout outside
   * [0, 1], ...). A config's own {@link LycorisConfig.warnings} are reported when an adapter is created
   * from it. Default: `process.emitWarning` in Node (`console.warn` elsewhere). They are also collected in
   * {@link PeftModel.warnings}.
   */
  readonly onWarning?: ((message: string) => void) | null;
}

function emitWarning(message: string): void {
  const proc = (globalThis as { process?: { emitWarning?: (m: string, type: string) => void } }).process;
  if (proc?.emitWarning) proc.emitWarning(message, "LycorisWarning");
  else console.warn(`LycorisWarning: ${message}`);
}

/** A config that knows its variant (variant packages' config classes do). */
interface ConfigWithVariant {
  readonly variant?: AdapterVariant<LycorisConfig>;
}

/**
 * A model with LyCORIS adapters, like PEFT's `PeftModel` around a
 * `LoKrModel`/`LoHaModel`: adapters are injected at the modules the config
 * selects; several adapters can live side by side; the active ones add up.
 */
export class PeftModel {
  /** The adapted model (PEFT's `base_model.model`): the original tree with adapter layers in place. */
  readonly model: Module;
  /** Configs by adapter name, in creation order. */
  readonly peftConfig = new Map<string, LycorisConfig>();
  /** Warnings PEFT would print (e.g. ignored `layers_to_transform`), in order. */
  readonly warnings: string[] = [];
  readonly #onWarning: ((message: string) => void) | null;
  readonly facts: ModelFacts;
  readonly registry: AdapterRegistry;
  readonly #targets = new Map<string, string[]>();
  readonly #modulesToSave = new Map<string, string[]>();
  readonly #resolvedTargets = new Map<string, string | readonly string[] | null>();
  #active: string[] = [];
  #disabled = false;
  readonly #rng: Rng;
  readonly #adapterPadding: AdapterPadding;

  constructor(model: Module, config: LycorisConfig, adapterName = "default", options: PeftModelOptions = {}) {
    this.model = model;
    this.facts = {
      outputLayer: options.outputLayer ?? options.description?.outputLayer ?? null,
      inputEmbeddings: options.inputEmbeddings ?? null,
      modelType: options.modelType ?? options.description?.modelType ?? null,
    };
    this.registry = options.registry ?? defaultRegistry;
    this.#rng = createRng(options.seed ?? 0);
    this.#adapterPadding = options.adapterPadding ?? "zeros";
    this.#onWarning = options.onWarning === undefined ? emitWarning : options.onWarning;
    this.#inject(adapterName, config, options.description);
    this.#setActive([adapterName]);
  }

  /** The active adapter names (their deltas add up in this order). */
  get activeAdapters(): readonly string[] {
    return this.#active;
  }

  /** The first active adapter (PEFT's `active_adapter`). */
  get activeAdapter(): string {
    return this.#active[0]!;
  }

  /** Modules adapted by any adapter: the first adapter's in model order, then later adapters' new ones. */
  get targetedModules(): string[] {
    const out: string[] = [];
    for (const names of this.#targets.values()) for (const n of names) if (!out.includes(n)) out.push(n);
    return out;
  }

  /** Modules adapted by `adapter`, in model order. */
  targetsOf(adapter: string): readonly string[] {
    return this.#targets.get(adapter) ?? [];
  }

  /** `target_modules` of `adapter` as PEFT stores it after injection (`"all-linear"` resolved). */
  resolvedTargetModulesOf(adapter: string): string | readonly string[] | null {
    return this.#resolvedTargets.get(adapter) ?? null;
  }

  /** Records a warning and hands it to `onWarning` (see {@link PeftModelOptions.onWarning}). */
  warn(message: string): void {
    this.warnings.push(message);
    this.#onWarning?.(message);
  }

  /** Every adapter layer with its module path. */
  *adapterLayers(): Generator<[string, LycorisLayer]> {
    for (const [name, m] of this.model.namedModules()) if (m instanceof LycorisLayer) yield [name, m];
  }

  /** Every modules-to-save wrapper with its module path. */
  *modulesToSaveWrappers(): Generator<[string, ModulesToSaveWrapper]> {
    for (const [name, m] of this.model.namedModules()) if (m instanceof ModulesToSaveWrapper) yield [name, m];
  }

  /** The variant of an adapter. */
  variantOf(adapter: string): AdapterVariant<LycorisConfig> {
    const config = this.peftConfig.get(adapter);
    if (config === undefined) throw this.#unknownAdapter(adapter);
    return this.#resolveVariant(config);
  }

  /**
   * Adds adapter `name` with `config` (not active until {@link PeftModel.setAdapter}).
   * Throws `duplicate_adapter_name` or `mixed_peft_types` as PEFT does.
   */
  addAdapter(name: string, config: LycorisConfig): void {
    if (this.peftConfig.has(name)) {
      throw new AdapterError("duplicate_adapter_name", `Adapter with name '${name}' already exists.`, {
        field: "adapterName",
        expected: "a new adapter name",
        received: name,
      });
    }
    const first = this.peftConfig.values().next().value as LycorisConfig;
    if (first.peftType !== config.peftType) {
      throw new AdapterError(
        "mixed_peft_types",
        `Cannot combine adapters with different peft types. Found PeftType.${first.peftType} and PeftType.${config.peftType}.`,
        { field: "peftType", expected: first.peftType, received: config.peftType },
      );
    }
    this.#inject(name, config);
    this.#setActive(this.#active);
  }

  /** Activates one adapter, or several whose deltas add up (in the given order). */
  setAdapter(names: string | readonly string[]): void {
    const list = typeof names === "string" ? [names] : [...names];
    for (const n of list) if (!this.peftConfig.has(n)) throw this.#unknownAdapter(n);
    this.#setActive(list);
  }

  /** Deletes an adapter and its parameters from every layer. */
  deleteAdapter(name: string): void {
    if (!this.peftConfig.has(name)) throw this.#unknownAdapter(name);
    for (const [, layer] of this.adapterLayers()) if (layer.adapter(name)) layer.deleteAdapter(name);
    for (const [, w] of this.modulesToSaveWrappers()) w.deleteAdapter(name);
    this.peftConfig.delete(name);
    this.#targets.delete(name);
    this.#modulesToSave.delete(name);
    this.#resolvedTargets.delete(name);
    const remaining = this.#active.filter((a) => a !== name);
    this.#setActive(remaining.length > 0 ? remaining : [...this.peftConfig.keys()].slice(0, 1));
  }

  /** Bypasses every adapter (merged ones are unmerged at their next forward, as PEFT). */
  disableAdapters(): void {
    this.#setDisabled(true);
  }

  /** Re-enables adapters after {@link PeftModel.disableAdapters}. */
  enableAdapters(): void {
    this.#setDisabled(false);
  }

  /** Runs `fn` with adapters disabled (PEFT's `disable_adapter()` context manager). */
  withAdaptersDisabled<T>(fn: () => T): T {
    const was = this.#disabled;
    this.#setDisabled(true);
    try {
      return fn();
    } finally {
      this.#setDisabled(was);
    }
  }

  /** Forward through the adapted model. */
  forward(x: Tensor<Float32Array>): Tensor<Float32Array> {
    return this.model.forward(x);
  }

  /** Backward through the adapted model (after a training-mode forward). */
  backward(dy: Tensor<Float32Array>): Tensor<Float32Array> {
    return this.model.backward(dy);
  }

  /** Training mode (enables module and rank dropout). */
  train(mode = true): this {
    this.model.train(mode);
    return this;
  }

  /** Eval mode. */
  eval(): this {
    return this.train(false);
  }

  /**
   * Merges adapters into the base weights (default: the active ones). With
   * `safeMerge`, each merge is checked for NaN/Inf on a copy first.
   */
  merge(options: { safeMerge?: boolean; adapterNames?: readonly string[] } = {}): void {
    const names = options.adapterNames ?? this.#active;
    for (const n of names) if (!this.peftConfig.has(n)) throw this.#unknownAdapter(n);
    // one scratch pool for every layer: ΔW buffers are reused, not allocated per module
    const scratch = new ScratchPool();
    const mergeOptions = { adapterNames: names, scratch, ...(options.safeMerge ? { safeMerge: true } : {}) };
    for (const [, layer] of this.adapterLayers()) layer.merge(mergeOptions);
  }

  /** Un-merges every merged adapter. */
  unmerge(): void {
    const scratch = new ScratchPool();
    for (const [, layer] of this.adapterLayers()) layer.unmerge({ scratch });
  }

  /**
   * Merges the active adapters (or `adapterNames`) and returns the plain model
   * without adapter layers; modules-to-save copies of the active adapter replace
   * their originals.
   */
  mergeAndUnload(options: { safeMerge?: boolean; adapterNames?: readonly string[] } = {}): Module {
    return this.#unload(true, options);
  }

  /** Returns the plain model without adapter layers and without merging. */
  unload(): Module {
    return this.#unload(false, {});
  }

  /** PEFT's `set_scale`: the scaling of `adapter` becomes `scale · alpha / r` on every layer. */
  setScale(adapter: string, scale: number): void {
    if (!this.peftConfig.has(adapter)) throw this.#unknownAdapter(adapter);
    for (const [, layer] of this.adapterLayers()) layer.setScale(adapter, scale);
  }

  /** PEFT's `scale_layer`: multiplies the scaling of the active adapters. */
  scaleLayer(scale: number): void {
    for (const [, layer] of this.adapterLayers()) layer.scaleLayer(scale);
  }

  /** PEFT's `unscale_layer`: divides active scalings by `scale`, or resets them to alpha / r. */
  unscaleLayer(scale?: number): void {
    for (const [, layer] of this.adapterLayers()) layer.unscaleLayer(scale);
  }

  /** `{ trainable, all }` parameter counts, as PEFT's `get_nb_trainable_parameters`. */
  getNbTrainableParameters(): { trainable: number; all: number } {
    let trainable = 0;
    let all = 0;
    for (const p of this.model.parameters()) {
      const n = p.data.data.length;
      all += n;
      if (p.requiresGrad) trainable += n;
    }
    return { trainable, all };
  }

  /** PEFT's exact summary line (`trainable params: ... || all params: ... || trainable%: ...`), also printed with `log`. */
  printTrainableParameters(log: ((line: string) => void) | null = console.log): string {
    const { trainable, all } = this.getNbTrainableParameters();
    const line = formatTrainableParameters(trainable, all);
    log?.(line);
    return line;
  }

  /** The module paths wrapped as modules-to-save for `adapter`. */
  modulesToSaveOf(adapter: string): readonly string[] {
    return this.#modulesToSave.get(adapter) ?? [];
  }

  #resolveVariant(config: LycorisConfig): AdapterVariant<LycorisConfig> {
    const own = (config as LycorisConfig & ConfigWithVariant).variant;
    if (own !== undefined) {
      if (this.registry.find(own.peftType) === undefined) this.registry.register(own);
      return own;
    }
    return this.registry.get(config.peftType);
  }

  #inject(name: string, config: LycorisConfig, description?: ModelDescription): void {
    const variant = this.#resolveVariant(config);
    const desc = description ?? describeModel(this.model, this.facts);
    const selection = selectTargetModules(config, desc, {
      supportedKinds: variant.supportedKinds ?? DEFAULT_KINDS,
    });
    // Validate everything before the tree changes, so a failure leaves the model as it was.
    const plan = selection.targets.map((path) => {
      const { r, alpha } = resolveRankAndAlpha(config, path);
      if (!(Number.isInteger(r) && r > 0)) {
        throw new AdapterError(
          "invalid_rank",
          `\`r\` should be a positive integer value but the value passed is ${r}`,
          {
            field: "r",
            expected: "a positive integer",
            received: String(r),
          },
        );
      }
      const m = this.model.getSubmodule(path);
      if (!(m instanceof LycorisLayer) && !isAdaptableLayer(m)) {
        throw new AdapterError(
          "unsupported_module_type",
          `Target module '${path}' of kind '${m.kind}' is not supported`,
          {
            field: path,
            expected: (variant.supportedKinds ?? DEFAULT_KINDS).join(" | "),
            received: m.kind,
          },
        );
      }
      const layer = m instanceof LycorisLayer ? m.geometry : layerGeometry(m);
      const existing = m instanceof LycorisLayer;
      for (const w of variant.prepareLayer?.({ config, r, alpha, layer }, existing) ?? []) this.warn(w);
      return { path, m, r, alpha };
    });
    const initRng = createRng(Math.floor(this.#rng.uniform() * 2 ** 31));
    for (const { path, m, r, alpha } of plan) {
      let layer: LycorisLayer;
      if (m instanceof LycorisLayer) {
        layer = m;
      } else if (isAdaptableLayer(m)) {
        for (const p of m.parameters()) p.requiresGrad = false;
        layer = new LycorisLayer(m, { rng: this.#rng, adapterPadding: this.#adapterPadding });
        this.model.setSubmodule(path, layer);
      } else {
        continue;
      }
      layer.addAdapter(name, variant, config, r, alpha, initRng);
    }
    for (const w of config.warnings) this.warn(w);
    for (const w of selection.warnings) this.warn(w);
    this.peftConfig.set(name, config);
    this.#targets.set(name, [...selection.targets]);
    this.#resolvedTargets.set(name, selection.resolvedTargetModules);
    this.#wrapModulesToSave(name, config);
    this.#markOnlyAdaptersTrainable(variant.prefix);
  }

  /** PEFT's `_mark_only_adapters_as_trainable`: every parameter outside adapters is frozen. */
  #markOnlyAdaptersTrainable(prefix: string): void {
    for (const [pname, p] of this.model.namedParameters()) {
      if (!pname.includes(prefix) && !pname.includes(".modules_to_save.")) p.requiresGrad = false;
    }
  }

  #wrapModulesToSave(adapter: string, config: LycorisConfig): void {
    const wanted = config.modulesToSave ?? [];
    const wrapped: string[] = [];
    if (wanted.length > 0) {
      const paths = [...this.model.namedModules()].map(([n]) => n).filter((n) => n !== "");
      for (const path of paths) {
        if (!wanted.some((k) => path.endsWith(k))) continue;
        if (wrapped.some((w) => path.startsWith(`${w}.`))) continue;
        let m = this.model.getSubmodule(path);
        if (!(m instanceof ModulesToSaveWrapper)) {
          if (m instanceof LycorisLayer) continue;
          const w = new ModulesToSaveWrapper(m);
          this.model.setSubmodule(path, w);
          m = w;
        }
        (m as ModulesToSaveWrapper).addAdapter(adapter);
        wrapped.push(path);
      }
    }
    this.#modulesToSave.set(adapter, wrapped);
  }

  #setActive(names: readonly string[]): void {
    this.#active = [...names];
    for (const [, layer] of this.adapterLayers()) {
      layer.setActiveAdapters(names.filter((n) => layer.adapter(n) !== undefined));
    }
    for (const [, w] of this.modulesToSaveWrappers()) w.setAdapter(names);
  }

  #setDisabled(disabled: boolean): void {
    this.#disabled = disabled;
    for (const [, layer] of this.adapterLayers()) layer.setDisabled(disabled);
    for (const [, w] of this.modulesToSaveWrappers()) w.setDisabled(disabled);
  }

  #unload(merge: boolean, options: { safeMerge?: boolean; adapterNames?: readonly string[] }): Module {
    if (merge) this.merge(options);
    for (const [path, layer] of [...this.adapterLayers()]) this.model.setSubmodule(path, layer.baseLayer);
    for (const [path, w] of [...this.modulesToSaveWrappers()]) {
      this.model.setSubmodule(path, merge ? w.current : w.originalModule);
    }
    return this.model;
  }

  #unknownAdapter(name: string): AdapterError {
    const known = [...this.peftConfig.keys()];
    return new AdapterError("unknown_adapter", `adapter '${name}' not found; adapters: ${known.join(", ")}`, {
      field: "adapterName",
      expected: known.join(" | "),
      received: name,
    });
  }
}

/**
 * PEFT's `get_peft_model`: injects adapter `adapterName` configured by `config`
 * into `model` (in place) and returns the {@link PeftModel}.
 */
export function getPeftModel(
  model: Module,
  config: LycorisConfig,
  adapterName = "default",
  options: PeftModelOptions = {},
): PeftModel {
  return new PeftModel(model, config, adapterName, options);
}
