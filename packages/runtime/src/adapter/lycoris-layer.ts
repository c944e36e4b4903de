import {
  addScaledInPlace,
  conv1d,
  conv1dBackward,
  conv2d,
  conv2dBackward,
  type FloatArray,
  formatShape,
  matmul,
  type Rng,
  reshape,
  ScratchPool,
  sameShape,
  type Tensor,
  tensor,
} from "@lycoris-ts/kernels";
import type { LycorisConfig } from "@lycoris-ts/lycoris-config";
import { AdapterError } from "../errors";
import { Module } from "../model/module";
import { Parameter } from "../model/parameter";
import type {
  AdapterContext,
  AdapterParams,
  AdapterVariant,
  LayerGeometry,
} from "../registry/adapter-variant";
import { mergeIntoWeight } from "../registry/merge-into-weight";
import { type DroppedInput, dropInput, dropInputBackward } from "./input-dropout";
import { applyInputMajorWeight, inputMajorWeightBackward } from "./input-major-weight";
import { type AdaptableLayer, layerGeometry, withZeroPadding } from "./layer-geometry";
import { ParameterDict } from "./parameter-dict";
import { applyRowMask, rankDropoutMask } from "./rank-dropout";

/**
 * How the adapter path pads a convolution whose base layer uses a padding mode
 * other than zeros. `"zeros"` is PEFT's behaviour (the adapter output is a plain
 * zero-padded conv, so merged and unmerged outputs differ at the borders);
 * `"base"` pads like the base layer, so merging changes nothing.
 */
export type AdapterPadding = "zeros" | "base";

/** One adapter on one layer. */
export interface LayerAdapter {
  readonly name: string;
  readonly variant: AdapterVariant<LycorisConfig>;
  readonly ctx: AdapterContext<LycorisConfig>;
  /** Current scaling (alpha / r, times any `setScale` / `scaleLayer` factor). */
  scaling: number;
}

/** Options of {@link LycorisLayer.merge}. */
export interface LayerMergeOptions {
  readonly safeMerge?: boolean;
  readonly adapterNames?: readonly string[];
  /** Scratch for ΔW (slot 0) and the safe-merge copy (slot 1), reused across layers; default: one per call. */
  readonly scratch?: ScratchPool;
}

/** Options of {@link LycorisLayer}. */
export interface LycorisLayerOptions {
  /** Randomness for module / rank dropout in training mode. */
  readonly rng: Rng;
  readonly adapterPadding?: AdapterPadding;
}

interface ForwardRecord {
  readonly x: Tensor<Float32Array>;
  readonly used: ReadonlyArray<{
    adapter: LayerAdapter;
    mask: Float32Array | null;
    dropped: DroppedInput | null;
  }>;
}

/**
 * A base Linear / Conv layer with LyCORIS adapters, like PEFT's `LycorisLayer`.
 * Children: `base_layer`, then one {@link ParameterDict} per parameter name of
 * the variant (so parameters are named `<module>.lokr_w1.<adapter>`).
 */
export class LycorisLayer extends Module {
  readonly kind = "lycoris_layer";
  readonly #adapters = new Map<string, LayerAdapter>();
  #active: string[] = [];
  readonly #merged: string[] = [];
  #disabled = false;
  #rng: Rng;
  adapterPadding: AdapterPadding;
  #record: ForwardRecord | null = null;
  /** ΔW of variants without a structured forward, reused by every forward / backward of this layer. */
  #deltaScratch: ScratchPool | null = null;

  constructor(base: AdaptableLayer, options: LycorisLayerOptions) {
    super();
    this.registerModule("base_layer", base);
    this.#rng = options.rng;
    this.adapterPadding = options.adapterPadding ?? "zeros";
    this.training = base.training;
  }

  /** The wrapped layer. */
  get baseLayer(): AdaptableLayer {
    return this.children().get("base_layer") as AdaptableLayer;
  }

  /** The base layer's geometry. */
  get geometry(): LayerGeometry {
    return layerGeometry(this.baseLayer);
  }

  /** Adapter names on this layer, in creation order. */
  get adapterNames(): string[] {
    return [...this.#adapters.keys()];
  }

  /** The adapters used by forward (those of the model's active set present here). */
  get activeAdapters(): readonly string[] {
    return this.#active;
  }

  /** Adapters merged into the base weight, in merge order. */
  get mergedAdapters(): readonly string[] {
    return this.#merged;
  }

  /** Whether any adapter is merged. */
  get merged(): boolean {
    return this.#merged.length > 0;
  }

  /** Whether adapters are bypassed (`disableAdapters`). */
  get disabled(): boolean {
    return this.#disabled;
  }

  /** One adapter's state, or `undefined`. */
  adapter(name: string): LayerAdapter | undefined {
    return this.#adapters.get(name);
  }

  /** The parameters of `adapter` by parameter name. */
  parametersOf(adapter: string): Map<string, Parameter> {
    const out = new Map<string, Parameter>();
    for (const [pname, dict] of this.children()) {
      if (!(dict instanceof ParameterDict)) continue;
      const p = dict.get(adapter);
      if (p !== null) out.set(dict.leaf === null ? pname : `${pname}.${dict.leaf}`, p);
    }
    return out;
  }

  /** Parameter tensors of `adapter`, as the variant hooks take them. */
  paramValues(adapter: string): AdapterParams {
    const out: Record<string, Tensor<Float32Array>> = {};
    for (const [k, p] of this.parametersOf(adapter)) out[k] = p.data;
    return out;
  }

  /**
   * Adds (or re-creates) adapter `name` with its parameters initialised by the
   * variant (`update_layer` in PEFT). The new adapter is not active until
   * {@link LycorisLayer.setActiveAdapters} includes it.
   */
  addAdapter(
    name: string,
    variant: AdapterVariant<LycorisConfig>,
    config: LycorisConfig,
    r: number,
    alpha: number,
    rng: Rng,
  ): void {
    if (!(Number.isInteger(r) && r > 0)) {
      throw new AdapterError(
        "invalid_rank",
        `\`r\` should be a positive integer value but the value passed is ${r}`,
        { field: "r", expected: "a positive integer", received: String(r) },
      );
    }
    const ctx: AdapterContext<LycorisConfig> = { config, r, alpha, layer: this.geometry };
    const layout = variant.parameterLayout(ctx);
    const init = variant.initParameters(ctx, rng);
    for (const [pname, shape] of layout.params) {
      const t = init[pname];
      if (t === undefined || !sameShape(t.shape, shape)) {
        throw new AdapterError(
          "invalid_state",
          `variant ${variant.peftType}: initParameters gave no '${pname}' of shape ${formatShape(shape)}`,
          {
            field: pname,
            expected: formatShape(shape),
            received: t ? formatShape(t.shape) : "missing",
          },
        );
      }
      // A dotted name (LoRA's `lora_A.weight`) is a dict of per-adapter entries holding the leaf, as in torch.
      const dot = pname.indexOf(".");
      const dictName = dot < 0 ? pname : pname.slice(0, dot);
      let dict = this.children().get(dictName);
      if (!(dict instanceof ParameterDict)) {
        dict = new ParameterDict(dot < 0 ? null : pname.slice(dot + 1));
        this.registerModule(dictName, dict);
      }
      (dict as ParameterDict).set(name, new Parameter(t, true));
    }
    this.#adapters.set(name, { name, variant, ctx, scaling: variant.scaling?.(ctx) ?? alpha / r });
  }

  /** Removes adapter `name` (unmerge it first if merged). */
  deleteAdapter(name: string): void {
    if (this.#merged.includes(name)) {
      throw new AdapterError(
        "invalid_state",
        `cannot delete adapter '${name}' while it is merged; unmerge first`,
        {
          field: name,
          expected: "an unmerged adapter",
          received: "merged",
        },
      );
    }
    for (const [, dict] of this.children()) if (dict instanceof ParameterDict) dict.delete(name);
    this.#adapters.delete(name);
    this.#active = this.#active.filter((a) => a !== name);
  }

  /** Sets the active adapters; only their parameters stay trainable (as PEFT's `set_adapter`). */
  setActiveAdapters(names: readonly string[]): void {
    this.#active = [...names];
    for (const [, dict] of this.children()) {
      if (!(dict instanceof ParameterDict)) continue;
      for (const a of dict.keys()) dict.get(a)!.requiresGrad = names.includes(a);
    }
  }

  /** Bypasses (true) or re-enables adapters; disabling unmerges merged adapters at the next forward, as PEFT. */
  setDisabled(disabled: boolean): void {
    this.#disabled = disabled;
  }

  /** ΔW of `adapter` with its current scaling, shaped like the base weight. */
  getDeltaWeight(adapter: string): Tensor<Float32Array> {
    const a = this.#require(adapter);
    return a.variant.deltaWeight(this.paramValues(adapter), a.ctx, a.scaling);
  }

  /**
   * Merges adapters into the base weight (default: the active ones not yet
   * merged). With `safeMerge`, the sum is computed on a copy and checked for
   * NaN/Inf before it replaces the weight. ΔW and the copy live in `scratch`
   * (pass one pool to every layer of a model; default: a pool for this call).
   */
  merge(options: LayerMergeOptions = {}): void {
    const names = (options.adapterNames ?? this.#active).filter((n) => !this.#merged.includes(n));
    const weight = this.baseLayer.weight;
    const scratch = options.scratch ?? new ScratchPool();
    for (const name of names) {
      const a = this.#adapters.get(name);
      if (a === undefined) continue;
      if (options.safeMerge) {
        const copy = tensor(scratch.take(weight.data.data.length, 1), weight.data.shape);
        copy.data.set(weight.data.data);
        this.#mergeInto(copy, a, a.scaling, scratch);
        if (!copy.data.every(Number.isFinite)) {
          throw new AdapterError(
            "non_finite_merge",
            `NaNs detected in the merged weights. The adapter ${name} seems to be broken`,
            { field: name, expected: "finite merged weights", received: "NaN or Inf" },
          );
        }
        weight.data.data.set(copy.data);
      } else {
        this.#mergeInto(weight.data, a, a.scaling, scratch);
      }
      this.#merged.push(name);
    }
  }

  /** Subtracts merged adapters from the base weight, last merged first (ΔW in `scratch`, as `merge`). */
  unmerge(options: { scratch?: ScratchPool } = {}): void {
    const weight = this.baseLayer.weight;
    const scratch = options.scratch ?? new ScratchPool();
    while (this.#merged.length > 0) {
      const name = this.#merged.pop()!;
      const a = this.#adapters.get(name);
      if (a !== undefined) this.#mergeInto(weight.data, a, -a.scaling, scratch);
    }
  }

  /** PEFT's `set_scale`: scaling of `adapter` becomes `scale · alpha / r`. */
  setScale(adapter: string, scale: number): void {
    const a = this.#adapters.get(adapter);
    if (a !== undefined) a.scaling = (scale * a.ctx.alpha) / a.ctx.r;
  }

  /** PEFT's `scale_layer`: multiplies the scaling of every active adapter by `scale`. */
  scaleLayer(scale: number): void {
    for (const name of this.#active) {
      const a = this.#adapters.get(name);
      if (a !== undefined) a.scaling *= scale;
    }
  }

  /** PEFT's `unscale_layer`: divides active scalings by `scale`, or resets them to alpha / r. */
  unscaleLayer(scale?: number): void {
    for (const name of this.#active) {
      const a = this.#adapters.get(name);
      if (a === undefined) continue;
      a.scaling = scale === undefined ? a.ctx.alpha / a.ctx.r : a.scaling / scale;
    }
  }

  /**
   * The adapter's output contribution for `x` (no dropout): the variant's
   * structured forward when it has one, else linear/conv with ΔW.
   */
  adapterOutput(adapter: string, x: Tensor<Float32Array>): Tensor<Float32Array> {
    const a = this.#require(adapter);
    return this.#adapterForward(a, x);
  }

  override forward(x: Tensor<Float32Array>): Tensor<Float32Array> {
    const base = this.baseLayer;
    if (this.#disabled) {
      if (this.merged) this.unmerge();
      this.#record = null;
      return base.forward(x);
    }
    if (this.merged) {
      this.#record = null;
      return base.forward(x);
    }
    const y = base.forward(x);
    const used: Array<{ adapter: LayerAdapter; mask: Float32Array | null; dropped: DroppedInput | null }> =
      [];
    for (const name of this.#active) {
      const a = this.#adapters.get(name);
      if (a === undefined) continue;
      if (
        this.training &&
        a.ctx.config.moduleDropout > 0 &&
        !(this.#rng.uniform() > a.ctx.config.moduleDropout)
      ) {
        continue;
      }
      const mask = this.training ? this.#rankDropoutMask(a) : null;
      const dropped = this.training ? dropInput(x, a.variant.inputDropout?.(a.ctx) ?? 0, this.#rng) : null;
      const d = this.#adapterForward(a, dropped?.x ?? x);
      if (mask !== null) applyRowMask(d, mask, a.ctx.layer.conv === null);
      addScaledInPlace(y, d, 1);
      used.push({ adapter: a, mask, dropped });
    }
    this.#record = this.training || this.keepInputs ? { x, used } : null;
    return y;
  }

  override backward(dy: Tensor<Float32Array>): Tensor<Float32Array> {
    const rec = this.#record;
    if (rec === null) {
      throw new AdapterError(
        "invalid_state",
        "backward needs a forward in training mode (adapters enabled, not merged) first",
        {
          field: "training",
          expected: "a training-mode forward",
          received: "none",
        },
      );
    }
    const dx = this.baseLayer.backward(dy);
    for (const { adapter: a, mask, dropped } of rec.used) {
      let dyA = dy;
      if (mask !== null) {
        dyA = tensor(Float32Array.from(dy.data), dy.shape);
        applyRowMask(dyA, mask, a.ctx.layer.conv === null);
      }
      const { dx: dxA, grads } = this.#adapterBackward(a, dropped?.x ?? rec.x, dyA);
      if (dropped !== null) dropInputBackward(dxA, dropped);
      addScaledInPlace(dx, dxA, 1);
      for (const [pname, p] of this.parametersOf(a.name)) {
        const g = grads[pname];
        if (g !== undefined && p.requiresGrad) p.accumulateGrad(g.data);
      }
    }
    return dx;
  }

  #require(name: string): LayerAdapter {
    const a = this.#adapters.get(name);
    if (a === undefined) {
      throw new AdapterError(
        "unknown_adapter",
        `adapter '${name}' not found on this layer; it has ${this.adapterNames.join(", ") || "none"}`,
        {
          field: "adapterName",
          expected: this.adapterNames.join(" | "),
          received: name,
        },
      );
    }
    return a;
  }

  /**
   * The context of the adapter path: the layer's current geometry with its conv options resolved here,
   * once, for every variant: zero padding (PEFT's adapter path) unless `adapterPadding` is `"base"`.
   */
  #ctxFor(a: LayerAdapter): AdapterContext<LycorisConfig> {
    const layer = this.geometry;
    return { ...a.ctx, layer: this.adapterPadding === "base" ? layer : withZeroPadding(layer) };
  }

  /**
   * The buffer a materialised ΔW goes into on the forward / backward path: one per layer, the base
   * weight's size, created at the first use (only variants without `forward` / `backward` need it) and
   * consumed before the next (`applyWeight` and `weightBackward` keep no reference to it).
   */
  #deltaBuffer(): Float32Array {
    this.#deltaScratch ??= new ScratchPool();
    return this.#deltaScratch.take(this.baseLayer.weight.data.data.length);
  }

  #mergeInto(weight: Tensor<Float32Array>, a: LayerAdapter, scaling: number, scratch: ScratchPool): void {
    mergeIntoWeight(a.variant, weight, this.paramValues(a.name), a.ctx, scaling, scratch);
  }

  /** The rank-dropout mask of one training step: the variant's semantics, else PEFT LoKr's. */
  #rankDropoutMask(a: LayerAdapter): Float32Array | null {
    const cfg = a.ctx.config as LycorisConfig & { rankDropoutScale?: boolean };
    if (!(cfg.rankDropout > 0)) return null;
    if (a.variant.rankDropoutMask) return a.variant.rankDropoutMask(a.ctx, this.#rng);
    return rankDropoutMask(
      a.ctx.layer.outFeatures,
      cfg.rankDropout,
      cfg.rankDropoutScale === true,
      this.#rng,
    );
  }

  #adapterForward(a: LayerAdapter, x: Tensor<Float32Array>): Tensor<Float32Array> {
    const ctx = this.#ctxFor(a);
    const params = this.paramValues(a.name);
    if (a.variant.forward) return a.variant.forward(x, params, ctx, a.scaling);
    const delta = a.variant.deltaWeight(params, ctx, a.scaling, this.#deltaBuffer());
    return applyWeight(x, delta, ctx.layer);
  }

  #adapterBackward(
    a: LayerAdapter,
    x: Tensor<Float32Array>,
    dy: Tensor<Float32Array>,
  ): { dx: Tensor<Float32Array>; grads: Record<string, Tensor<Float32Array>> } {
    const ctx = this.#ctxFor(a);
    const params = this.paramValues(a.name);
    if (a.variant.backward) return a.variant.backward(x, params, ctx, a.scaling, dy);
    if (!a.variant.deltaWeightBackward) {
      throw new AdapterError(
        "training_not_supported",
        `adapter variant ${a.variant.peftType} has neither backward nor deltaWeightBackward`,
        {
          field: "variant",
          expected: "backward or deltaWeightBackward",
          received: a.variant.peftType,
        },
      );
    }
    const delta = a.variant.deltaWeight(params, ctx, a.scaling, this.#deltaBuffer());
    const { dx, dw } = weightBackward(x, delta, dy, ctx.layer);
    return { dx, grads: a.variant.deltaWeightBackward(params, ctx, a.scaling, dw) };
  }
}

/** `linear(x, w)`, `conv(x, w)`, `x · w` (GPT-2 `Conv1D`) or the embedding lookup in `w`, with the layer's geometry, no bias. */
export function applyWeight<A extends FloatArray>(
  x: Tensor<A>,
  w: Tensor<A>,
  layer: LayerGeometry,
): Tensor<A> {
  if (layer.kind === "gpt2_conv1d" || layer.kind === "embedding") return applyInputMajorWeight(x, w, layer);
  if (layer.kind === "linear") {
    const inF = layer.inFeatures;
    const rows = x.data.length / inF;
    const y = matmul(reshape(x, [rows, inF]), w, { transB: true });
    return reshape(y, [...x.shape.slice(0, -1), layer.outFeatures]);
  }
  const conv = layer.conv!;
  return layer.kind === "conv1d" ? conv1d(x, w, null, conv) : conv2d(x, w, null, conv);
}

/** Gradients of {@link applyWeight} w.r.t. `x` and `w`. */
export function weightBackward<A extends FloatArray>(
  x: Tensor<A>,
  w: Tensor<A>,
  dy: Tensor<A>,
  layer: LayerGeometry,
): { dx: Tensor<A>; dw: Tensor<A> } {
  if (layer.kind === "gpt2_conv1d" || layer.kind === "embedding") {
    return inputMajorWeightBackward(x, w, dy, layer);
  }
  if (layer.kind === "linear") {
    const inF = layer.inFeatures;
    const rows = x.data.length / inF;
    const dy2 = reshape(dy, [rows, layer.outFeatures]);
    const dw = matmul(dy2, reshape(x, [rows, inF]), { transA: true });
    const dx = reshape(matmul(dy2, w), x.shape);
    return { dx, dw };
  }
  const conv = layer.conv!;
  const g = layer.kind === "conv1d" ? conv1dBackward(x, w, dy, conv) : conv2dBackward(x, w, dy, conv);
  return { dx: g.dx, dw: g.dw };
}
