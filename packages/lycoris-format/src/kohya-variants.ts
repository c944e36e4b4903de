import type { LycorisConfig } from "@lycoris-ts/lycoris-config";
import type { AdapterRegistry, AdapterVariant, KohyaFormat } from "@lycoris-ts/runtime";

/** A registered variant that kohya / LyCORIS files can hold (it has a `kohya` hook). */
export interface KohyaVariant {
  readonly variant: AdapterVariant<LycorisConfig>;
  readonly kohya: KohyaFormat;
}

/** The registry's variants with a `kohya` hook, in registration order. */
export function kohyaVariants(registry: AdapterRegistry): KohyaVariant[] {
  const out: KohyaVariant[] = [];
  for (const type of registry.peftTypes()) {
    const variant = registry.get(type);
    if (variant.kohya !== undefined) out.push({ variant, kohya: variant.kohya });
  }
  return out;
}

/** The variant whose kohya tensor names include `tensor`, if any. */
export function kohyaVariantOf(tensor: string, variants: readonly KohyaVariant[]): KohyaVariant | undefined {
  return variants.find((v) => Object.hasOwn(v.kohya.tensorNames, tensor));
}

/** The `peft_type`s of `variants` as a list for messages (`A`, `A and B`, `A, B and C`). */
export function kohyaTypeList(variants: readonly KohyaVariant[]): string {
  const types = variants.map((v) => v.variant.peftType);
  if (types.length <= 1) return types[0] ?? "(none registered)";
  return `${types.slice(0, -1).join(", ")} and ${types.at(-1)}`;
}

/**
 * Whether tensor names look like a kohya / LyCORIS file of a registered variant: some key is
 * `<module key>.<tensor>` (not PEFT's `base_model.model.…`) with one of the variants' kohya tensor
 * names. The one rule for "is this a kohya file".
 */
export function isLycorisKeyNaming(names: Iterable<string>, registry: AdapterRegistry): boolean {
  const variants = kohyaVariants(registry);
  for (const n of names) {
    const dot = n.indexOf(".");
    if (n.startsWith("base_model.model.") || dot <= 0) continue;
    if (kohyaVariantOf(n.slice(dot + 1), variants) !== undefined) return true;
  }
  return false;
}

/** The PEFT parameter name and shape of kohya tensor `tensor` (Conv1d Tucker cores get PEFT's trailing unit axis). */
export function kohyaToPeftParam(
  kohya: KohyaFormat,
  tensor: string,
  shape: readonly number[],
): { readonly name: string; readonly shape: readonly number[] } {
  const name = kohya.tensorNames[tensor] ?? tensor;
  const core = kohya.tuckerCores?.includes(name) === true && shape.length === 3;
  return { name, shape: core ? [...shape, 1] : shape };
}

/** The kohya tensor name of PEFT parameter `param` (the inverse of `tensorNames`). */
export function peftToKohyaName(kohya: KohyaFormat, param: string): string {
  for (const [tensor, name] of Object.entries(kohya.tensorNames)) if (name === param) return tensor;
  return param;
}
