import type { LycorisConfig } from "@lycoris-ts/lycoris-config";
import { isLycorisKeyNaming, kohyaVariantOf, kohyaVariants } from "@lycoris-ts/lycoris-format";
import type { AdapterRegistry, AdapterVariant } from "@lycoris-ts/runtime";
import { PEFT_KEY_PREFIX, splitPeftKey } from "@lycoris-ts/runtime";
import type { TensorInfo } from "@lycoris-ts/safetensors";

/** Key naming of an adapter file: PEFT (`base_model.model.<module>.<param>`) or kohya/LyCORIS (`lycoris_<module>.<param>`). */
export type KeyNaming = "peft" | "kohya";

/** The adapter tensors of one module. */
export interface AdapterModuleTensors {
  /** PEFT: the module path in the base model; kohya: the file's module key (`lycoris_…`, `lora_unet_…`). */
  readonly module: string;
  /** The variant the module's parameters belong to (PEFT: by parameter prefix; kohya: by the variants' kohya tensor names), or `null`. */
  readonly variant: AdapterVariant<LycorisConfig> | null;
  /** Adapter parameters by name as stored (PEFT parameter names, or kohya tensor names), in file order. */
  readonly params: ReadonlyMap<string, TensorInfo>;
  /** kohya files: the module's `.alpha` scalar, if present. */
  readonly alpha: TensorInfo | null;
  /** Tensors of the module that belong to no registered variant (e.g. `lora_down.weight`, `dora_scale`). */
  readonly other: ReadonlyMap<string, TensorInfo>;
}

/** The tensors of an adapter file, sorted by role. */
export interface GroupedAdapterTensors {
  readonly naming: KeyNaming;
  /** Adapted modules, in order of first appearance in the file. */
  readonly modules: readonly AdapterModuleTensors[];
  /** PEFT files: other tensors that replace a base tensor (modules_to_save copies), by base tensor name. */
  readonly replacements: ReadonlyMap<string, TensorInfo>;
  /** PEFT files: saved base-layer weights (`<module>.base_layer.weight`), by base tensor name. */
  readonly baseLayer: ReadonlyMap<string, TensorInfo>;
}

/**
 * How the keys of an adapter file are named, from the key names alone: `peft` when keys start with
 * `base_model.model.`, `kohya` when they are kohya / LyCORIS keys of a registered variant
 * (lycoris-format's `isLycorisKeyNaming`), `null` when neither.
 */
export function detectKeyNaming(names: readonly string[], registry: AdapterRegistry): KeyNaming | null {
  if (names.some((n) => n.startsWith(PEFT_KEY_PREFIX))) return "peft";
  return isLycorisKeyNaming(names, registry) ? "kohya" : null;
}

/** Finds the variant a parameter belongs to: PEFT names by the variant's prefix, kohya names by its kohya tensor names. */
function variantFinder(
  naming: KeyNaming,
  registry: AdapterRegistry,
): (param: string) => AdapterVariant<LycorisConfig> | null {
  if (naming === "kohya") {
    const variants = kohyaVariants(registry);
    return (param) => kohyaVariantOf(param, variants)?.variant ?? null;
  }
  const variants = registry.peftTypes().map((t) => registry.get(t));
  return (param) => variants.find((v) => param.startsWith(v.prefix)) ?? null;
}

interface MutableModule {
  module: string;
  variant: AdapterVariant<LycorisConfig> | null;
  params: Map<string, TensorInfo>;
  alpha: TensorInfo | null;
  other: Map<string, TensorInfo>;
}

/**
 * Sorts the tensors of an adapter file by module and role. A module's variant is the registered
 * variant its parameters belong to (PEFT: parameter prefix; kohya: kohya tensor names).
 */
export function groupAdapterTensors(
  tensors: readonly TensorInfo[],
  naming: KeyNaming,
  registry: AdapterRegistry,
): GroupedAdapterTensors {
  const variantOf = variantFinder(naming, registry);
  const modules = new Map<string, MutableModule>();
  const replacements = new Map<string, TensorInfo>();
  const baseLayer = new Map<string, TensorInfo>();
  // parameter names with a dot (LoRA's `lora_A.weight`) end a key as a whole
  const parameterNames = registry.peftTypes().flatMap((t) => registry.get(t).parameterNames);
  const moduleOf = (name: string): MutableModule => {
    let m = modules.get(name);
    if (m === undefined) {
      m = { module: name, variant: null, params: new Map(), alpha: null, other: new Map() };
      modules.set(name, m);
    }
    return m;
  };
  for (const info of tensors) {
    if (naming === "peft") {
      const body = info.name.startsWith(PEFT_KEY_PREFIX)
        ? info.name.slice(PEFT_KEY_PREFIX.length)
        : info.name;
      const { module, param } = splitPeftKey(info.name, parameterNames);
      const variant = variantOf(param);
      if (param.startsWith("base_layer.")) {
        baseLayer.set(`${module}.${param.slice("base_layer.".length)}`, info);
      } else if (variant !== null && module !== "") {
        const m = moduleOf(module);
        m.variant ??= variant;
        m.params.set(param, info);
      } else {
        replacements.set(body, info);
      }
    } else {
      const dot = info.name.indexOf(".");
      const module = dot < 0 ? info.name : info.name.slice(0, dot);
      const param = dot < 0 ? "" : info.name.slice(dot + 1);
      const m = moduleOf(module);
      const variant = variantOf(param);
      if (param === "alpha") m.alpha = info;
      else if (variant !== null) {
        m.variant ??= variant;
        m.params.set(param, info);
      } else m.other.set(param, info);
    }
  }
  return { naming, modules: [...modules.values()], replacements, baseLayer };
}
