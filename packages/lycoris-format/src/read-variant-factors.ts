import type { Tensor } from "@lycoris-ts/kernels";
import type { ParameterStructure } from "@lycoris-ts/runtime";
import { type KohyaVariant, kohyaToPeftParam } from "./kohya-variants";
import { LycorisFormatError } from "./lycoris-format-error";
import type { LycorisModule } from "./lycoris-module";
import { shapeText } from "./shape-text";

/** A module's factors under the variant's PEFT names (in the variant's order) and their structure. */
export interface VariantFactors {
  readonly params: Record<string, Tensor<Float32Array>>;
  readonly structure: ParameterStructure;
}

/**
 * The factors of one module (kohya tensor name → tensor; other tensors such as `alpha` are left out
 * by the caller) under the variant's PEFT names, checked and described by the variant's
 * `describeParameters`. `where` names the module in messages.
 *
 * @throws LycorisFormatError `missing_tensor` / `shape_mismatch` / `invalid_module` (no describe hook).
 */
export function readVariantFactors(
  tensors: ReadonlyMap<string, Tensor<Float32Array>>,
  kv: KohyaVariant,
  moduleName: string,
  where: string,
): VariantFactors {
  const params: Record<string, Tensor<Float32Array>> = {};
  for (const [tensor, t] of tensors) {
    const p = kohyaToPeftParam(kv.kohya, tensor, t.shape);
    params[p.name] = p.shape === t.shape ? t : { data: t.data, shape: p.shape };
  }
  const describe = kv.variant.describeParameters;
  if (describe === undefined) {
    throw new LycorisFormatError(
      "invalid_module",
      moduleName,
      `${where}: the ${kv.variant.peftType} variant cannot describe its parameters (no describeParameters hook)`,
    );
  }
  const d = describe(new Map(Object.entries(params).map(([n, t]) => [n, t.shape] as const)));
  if (!d.ok) {
    throw new LycorisFormatError(
      d.kind === "missing_parameter" ? "missing_tensor" : "shape_mismatch",
      moduleName,
      `${where}: ${d.message}`,
    );
  }
  const ordered: Record<string, Tensor<Float32Array>> = {};
  for (const name of [...kv.variant.parameterNames, ...Object.keys(params)]) {
    if (params[name] !== undefined) ordered[name] = params[name];
  }
  return { params: ordered, structure: d };
}

/** A module's `alpha` tensor as a number (`null` without one). */
export function alphaValue(t: Tensor<Float32Array> | undefined, moduleName: string): number | null {
  if (t === undefined) return null;
  if (t.data.length !== 1) {
    throw new LycorisFormatError(
      "shape_mismatch",
      moduleName,
      `module '${moduleName}': alpha has shape ${shapeText(t.shape)}, expected a single value`,
    );
  }
  return t.data[0]!;
}

/** A variant module with the loaders' scale: `alpha / rank`, 1 without alpha or without rank. */
export function variantModule(
  names: { readonly moduleName: string; readonly fileKey: string; readonly prefix: string },
  kv: KohyaVariant,
  read: VariantFactors,
  alpha: number | null,
  doraScale: Tensor<Float32Array> | null,
): LycorisModule {
  const rank = read.structure.rank;
  const algo = kv.variant.peftType;
  return {
    ...names,
    algo,
    structure: { algo, ...read.structure.flags },
    variant: kv.variant,
    params: read.params,
    rank,
    alpha,
    scale: rank === null || alpha === null ? 1 : alpha / rank,
    doraScale,
  };
}
